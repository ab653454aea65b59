#pragma once
// Does the attention explain the prediction? An erasure test of attention's faithfulness
// (Serrano & Smith 2019, "Is Attention Interpretable?", ACL; after Li, Monroe & Jurafsky 2016,
// "Understanding Neural Networks through Representation Erasure"). For a sequence-to-sequence
// model it goes step by step: for each output step of the model's own greedy output y*, erase
// the input position the decoder attends to most at that step and, as a control, a random other
// one, and see how much the probability of that step's token falls. Attention that explains the
// prediction makes the first fall far more than the second; attention that only decorates it
// makes them alike.
//
//   nlohmann::json r = erasure_test(model, *dev, {.examples = 500});
//   // {"examples": 500, "steps": 4012, "top": {"delta_log_prob": -3.1, "prediction_changed":
//   //  0.71}, "random": {"delta_log_prob": -0.4, "prediction_changed": 0.08},
//   //  "top_hurts_more": 0.97}
//
// Step t's probability is log p(y*_t | y*_<t, x) teacher-forced, and y*'s steps are its tokens
// and </s>. The attention at step t is the weight the decoder's attention over the input (every
// head and layer; a Transformer decoder's cross-attention, not its self-attention) gives each
// position at t. The erased position reads as <unk>, which the model may never have seen in
// training; both erasures perturb the input alike that way, so their difference is what the
// attention's ranking tells. Erasing a whole output's worth of positions at once would not do:
// in G2P every letter matters to some phoneme, so any erasure spoils the output somewhere.
//
// For a classifier over sequences (Fashion-MNIST's rows, tokens) there is one prediction, the
// model's own class c*: erase at once the k = max(1, len / 10) input positions that receive the
// most attention in all (summed over every attention layer whose keys are the input's positions,
// their heads and queries; a deeper layer's key s stands for position s), and as the control k
// random others, and compare log p(c* | erased input) with log p(c* | x). An erased position
// reads as <unk> (tokens) or zeros (features: a normalized image row then reads as the
// dataset's mean pixel). A language model (NextTokenModel) is tested the same way on each window's
// prediction of the token after it, its own most likely one: k = 1 of the window's positions, by
// the attention of the window's last query alone.

#include <cstdint>
#include <nlohmann/json.hpp>

#include "framework/data.h"
#include "framework/model.h"

namespace heed {

struct ErasureOptions {
  int64_t examples = 500;  // the split's first N (all when it has fewer)
  uint64_t seed = 0;       // draws the random positions
};

/// The test over `data`'s first examples, one at a time, in eval mode without gradients (the
/// model back in training mode afterwards). Examples too short to draw the control from (one
/// input position; a classifier's len < 2k) are skipped. Returns {"examples" (tested),
/// "skipped", "erased" (what was erased, in words), "steps" (seq2seq: output steps tested),
/// "top" and "random": {"delta_log_prob": the mean over the steps (seq2seq) or examples
/// (classifier) or windows (language model) of log p(y*_t | erased) - log p(y*_t | x) in nats,
/// "prediction_changed": the share of them whose most likely token or class changes},
/// "top_hurts_more": the share of the examples whose most-attended erasures lowered the
/// log-probability more than the random ones}. Throws heed::Error when the model is no
/// SequenceTransducer, classifier or NextTokenModel, a seq2seq model's data has no token inputs, no
/// example is long enough, or the model records no attention over its input (a seq2seq decoder's,
/// or any over the input's positions for the others: an RNN without attention, a CNN).
nlohmann::json erasure_test(Model& model, const Dataset& data, const ErasureOptions& options);

}  // namespace heed
