#pragma once
// Every op family, for code that composes them (layers, models, tests).

#include "framework/autograd.h"
#include "framework/ops/band_attention.h"
#include "framework/ops/batch_norm.h"
#include "framework/ops/conv.h"
#include "framework/ops/elementwise.h"
#include "framework/ops/entmax.h"
#include "framework/ops/linear_attention.h"
#include "framework/ops/matmul.h"
#include "framework/ops/nn.h"
#include "framework/ops/norm.h"
#include "framework/ops/pool.h"
#include "framework/ops/reduce.h"
#include "framework/ops/shape.h"
#include "framework/ops/softmax.h"
#include "framework/ops/sparse_attention.h"
#include "framework/tensor.h"
