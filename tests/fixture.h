#pragma once
// Loads the golden fixtures that tests/fixtures/make_fixtures.py writes with PyTorch
// (see tests/fixtures/README.md for the layout: inputs, params, outputs, grad_outputs, grads).

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "framework/module.h"
#include "framework/tensor.h"

namespace heed::testing {

struct Fixture {
  nlohmann::json json;
  nlohmann::json config;

  Tensor input(const std::string& name) const { return tensor("inputs", name); }
  Tensor param(const std::string& name) const { return tensor("params", name); }
  Tensor output(const std::string& name) const { return tensor("outputs", name); }
  Tensor grad_output(const std::string& name) const { return tensor("grad_outputs", name); }
  Tensor grad(const std::string& name) const { return tensor("grads", name); }
  /// Every parameter under its PyTorch state_dict key, for load_state_dict.
  StateDict params() const {
    StateDict state;
    for (const auto& item : json.at("params").items())
      state.emplace_back(item.key(), param(item.key()));
    return state;
  }

  Tensor tensor(const std::string& section, const std::string& name) const {
    const nlohmann::json& entry = json.at(section).at(name);
    const Shape shape = entry.at("shape").get<Shape>();
    if (entry.value("dtype", "float32") == "int64")
      return Tensor::from_vector_i64(entry.at("data").get<std::vector<int64_t>>(), shape);
    return Tensor::from_vector(entry.at("data").get<std::vector<float>>(), shape);
  }
};

inline Fixture load_fixture(const std::string& name) {
  const std::string path = std::string(HEED_SOURCE_DIR) + "/tests/fixtures/" + name + ".json";
  std::ifstream in(path);
  if (!in) throw Error("fixture " + path + " is missing; run tests/fixtures/make_fixtures.py");
  Fixture f;
  f.json = nlohmann::json::parse(in);
  f.config = f.json.value("config", nlohmann::json::object());
  return f;
}

}  // namespace heed::testing
