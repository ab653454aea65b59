#pragma once
// Does the attention explain the prediction? An erasure test of attention's faithfulness
// (Serrano & Smith 2019, "Is Attention Interpretable?", ACL; after Li, Monroe & Jurafsky 2016,
// "Understanding Neural Networks through Representation Erasure"), step by step for a
// sequence-to-sequence model: for each output step of the model's own greedy output y*, erase
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
/// model back in training mode afterwards). Examples of one input position (no other to draw
/// the control from) are skipped. Returns {"examples" (tested), "skipped", "steps" (output
/// steps tested), "top" and "random": {"delta_log_prob": mean over the steps of
/// log p(y*_t | erased) - log p(y*_t | x) in nats, "prediction_changed": share of the steps whose
/// most likely token is no longer y*_t}, "top_hurts_more": share of the examples whose
/// most-attended erasures lowered their steps' log-probabilities more in all than the random
/// ones}. Throws heed::Error when the model is no SequenceTransducer, the data has no token
/// inputs, no example has two input positions, or the model records no decoder attention over
/// its input (a model without attention).
nlohmann::json erasure_test(Model& model, const Dataset& data, const ErasureOptions& options);

}  // namespace heed
