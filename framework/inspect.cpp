#include "framework/inspect.h"

#include <memory>

#include "framework/autograd.h"
#include "framework/checkpoint.h"
#include "framework/error.h"
#include "framework/hdf5.h"

namespace heed {

namespace {

thread_local Inspector* current = nullptr;

}  // namespace

Inspector::Inspector() {
  HEED_CHECK(current == nullptr,
             "Inspector: another Inspector is already recording on this thread");
  current = this;
}

Inspector::~Inspector() {
  current = nullptr;
}

bool Inspector::active() {
  return current != nullptr;
}

void Inspector::record(const Module& from, const std::string& what, const Tensor& value) {
  if (current) current->records_[&from][what] = value;
}

void Inspector::record_attention(const Module& from, const Tensor& weights) {
  if (!current) return;
  current->records_[&from]["weights"] = weights;
  current->attention_.insert(&from);
}

std::vector<std::pair<std::string, Tensor>> Inspector::attention(const Module& root) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, module] : root.named_modules())
    if (attention_.count(module)) out.emplace_back(name, records_.at(module).at("weights"));
  return out;
}

std::vector<std::pair<std::string, Tensor>> Inspector::named(const Module& root) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, module] : root.named_modules()) {
    const auto it = records_.find(module);
    if (it == records_.end()) continue;
    for (const auto& [what, value] : it->second)
      out.emplace_back(name.empty() ? what : name + "." + what, value);
  }
  return out;
}

nlohmann::json write_inspection(const std::string& path, Model& model, const Dataset& data,
                                const DataInfo& info, const std::vector<int64_t>& indices,
                                const std::string& recipe, const std::string& checkpoint) {
  HEED_CHECK(!indices.empty(), "inspect: no examples chosen");
  for (const int64_t i : indices)
    HEED_CHECK(i >= 0 && i < data.size(), "inspect: example ", i, " is outside the split's ",
               data.size(), " examples [0, ", data.size(), ")");
  const Batch batch = data.get(indices);
  StateDict records;
  {
    NoGradGuard no_grad;
    // Back in training mode however the forward ends.
    const std::unique_ptr<Model, void (*)(Model*)> eval_mode(&model, [](Model* m) { m->train(); });
    model.eval();
    Inspector inspector;
    model.forward(batch);
    records = inspector.named(model);
  }
  HEED_CHECK(!records.empty(), "inspect: the model records nothing to inspect");
  nlohmann::json shapes = nlohmann::json::object();
  for (const auto& [name, t] : records) shapes[name] = t.shape();
  const Tensor index_tensor =
      Tensor::from_vector_i64(indices, {static_cast<int64_t>(indices.size())});
  h5::write_atomically(path, "inspection", [&](h5::File& file) {
    file.set_attr_string("/", "format", "heed-inspect");
    file.set_attr_i64("/", "format_version", 1);
    write_tensors(file, "",
                  {{"input", batch.input}, {"target", batch.target}, {"indices", index_tensor}});
    write_tensors(file, "records", records);
    file.write_string("recipe", recipe);
    file.write_string("checkpoint", checkpoint);
    if (info.input_vocab)
      file.write_string("input_vocab", nlohmann::json(info.input_vocab->tokens()).dump());
    if (info.target_vocab)
      file.write_string("target_vocab", nlohmann::json(info.target_vocab->tokens()).dump());
  });
  return {{"file", path}, {"samples", indices.size()}, {"records", shapes}};
}

}  // namespace heed
