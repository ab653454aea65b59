// Recipe bounds: numbers read with their ranges (framework/config.h), strict JSON with lines
// (framework/recipe.h), allocations checked before they happen (framework/tensor.cpp), and every
// error a recipe value causes naming the value's path.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "framework/random.h"
#include "framework/recipe.h"
#include "framework/registry.h"
#include "optim/early_stopping.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"
#include "temp_dir.h"
#include "testing.h"

namespace fs = std::filesystem;
using namespace heed;
using heed::testing::error_of;
using heed::testing::TempDir;

TEST_CASE("Config reads numbers with their range and names the path, the range and the value") {
  const nlohmann::json j = {{"hidden_size", -1},
                            {"big", 9223372036854775807LL},
                            {"huge", 1e300},
                            {"p", 0.5},
                            {"tiny", 1e-60},
                            {"u", 18446744073709551615ULL},
                            {"betas", {0.9, 1.0}},
                            {"inf", std::numeric_limits<double>::infinity()},
                            {"layers", {{{"a", 1}}, 2}}};
  const Config c(j, "model.encoder");
  CHECK(error_of([&] { c.get<int64_t>("hidden_size", 128, range::size); }) ==
        "recipe: \"model.encoder.hidden_size\" must be in [1, 1048576], got -1");
  CHECK(error_of([&] { c.get<int64_t>("big", 1, range::size); }) ==
        "recipe: \"model.encoder.big\" must be in [1, 1048576], got 9223372036854775807");
  // 2^64 - 1 is an unsigned JSON number: it must not wrap around to -1.
  CHECK(error_of([&] { c.get<int64_t>("u", 1, range::count_or_zero); }) ==
        "recipe: \"model.encoder.u\" must be in [0, 1099511627776], got 18446744073709551615");
  CHECK(error_of([&] { c.get<int>("big", 1); }) ==
        "recipe: \"model.encoder.big\" must fit a 32-bit integer, got 9223372036854775807");
  CHECK(error_of([&] { c.get<float>("huge", 0.f, range::probability); }) ==
        "recipe: \"model.encoder.huge\" must be a finite number within float32's range (3.4e38), "
        "got 1e+300");
  CHECK(error_of([&] { c.get<double>("inf", 0.0, range::non_negative); }) ==
        "recipe: \"model.encoder.inf\" must be a finite number, got inf");
  CHECK(c.get<double>("huge", 0.0, range::non_negative) == 1e300);
  // float32 rounds 1e-60 to 0, which a positive range refuses.
  CHECK(error_of([&] { c.get<float>("tiny", 1.f, range::positive); }) ==
        "recipe: \"model.encoder.tiny\" must be > 0, got 1e-60 (as float32: 0)");
  CHECK(c.get<float>("p", 0.f, range::below_one) == 0.5f);
  CHECK(error_of([&] {
          c.get<double>("p", 0.0, Range{0, 0.5, false, true});
        }) == "recipe: \"model.encoder.p\" must be in [0, 0.5), got 0.5");
  // A default outside the range (one derived from another value) is refused too, as the default.
  CHECK(error_of([&] { c.get<int64_t>("dim_feedforward", 4 * kMaxSize, range::size); }) ==
        "recipe: \"model.encoder.dim_feedforward\" must be in [1, 1048576], got 4194304 (the "
        "default)");
  CHECK(error_of([&] { c.get_list<double>("betas", {}, range::below_one, 2); }) ==
        "recipe: \"model.encoder.betas.1\" must be in [0, 1), got 1.0");
  CHECK(error_of([&] { c.get_list<double>("p", {}, range::below_one, 2); }) ==
        "recipe: \"model.encoder.p\" must be a list of 2 numbers, got 0.5");
  CHECK(error_of([&] { c.objects("layers"); }) ==
        "recipe: \"model.encoder.layers.1\" must be an object, got 2 (an integer)");
  CHECK(Range::at_least(0).str() == ">= 0");
  CHECK(Range::above(0).str() == "> 0");
  CHECK(Range{0, 1, true, true}.str() == "in (0, 1)");
  CHECK(Range{}.str() == "finite");
}

TEST_CASE("with_recipe_path prefixes the errors of a constructor with the recipe path") {
  CHECK(error_of([] {
          with_recipe_path("model.encoder", []() -> int { throw Error("Linear: bad"); });
        }) == "recipe: \"model.encoder\": Linear: bad");
  CHECK(error_of([] { with_recipe_path("model", []() -> int { throw std::bad_alloc(); }); }) ==
        "recipe: \"model\": out of memory");
  CHECK(error_of([] {
          with_recipe_path("model", []() -> int { throw std::runtime_error("dnnl: bad"); });
        }) == "recipe: \"model\": dnnl: bad");
  // A RecipeError already names its path: it passes unchanged.
  CHECK(error_of([] {
          with_recipe_path("model", []() -> int { throw recipe_error("model.x", " bad"); });
        }) == "recipe: \"model.x\" bad");
  CHECK(with_recipe_path("model", [] { return 3; }) == 3);
}

TEST_CASE("recipe files: duplicate keys and out-of-range numbers are errors with the line") {
  TempDir tmp;
  const fs::path r = tmp.fs_path() / "r.json";
  std::ofstream(r) << "{\n  \"train\": {\n    \"epochs\": 2,\n    // a comment\n"
                      "    \"epochs\": 3\n  }\n}\n";
  CHECK(error_of([&] { load_recipe(r.string()); }) ==
        "recipe " + r.string() + ":5: duplicate key \"epochs\" in \"train\"");
  std::ofstream(r) << "{\"model\": {\"layers\": [{\"type\": \"relu\"},\n"
                      "{\"type\": \"conv2d\", \"type\": \"relu\"}]}}";
  CHECK(error_of([&] { load_recipe(r.string()); }) ==
        "recipe " + r.string() + ":2: duplicate key \"type\" in \"model.layers.1\"");
  std::ofstream(r) << "{\"a\": 1,\n \"a\": 2}";
  CHECK(error_of([&] { load_recipe(r.string()); }) ==
        "recipe " + r.string() + ":2: duplicate key \"a\" in the top-level object");
  std::ofstream(r) << "{\n  \"optimizer\": {\n    \"lr\": 1e999\n  }\n}";
  CHECK(error_of([&] { load_recipe(r.string()); }) ==
        "recipe " + r.string() + ":3: number overflow parsing '1e999'");
  std::ofstream(r) << "{\"a\": [1, 2,\n 3,]}";
  CHECK(error_of([&] { load_recipe(r.string()); }).find(r.string() + ": parse error at line 2") ==
        7);
  // Keys may repeat in different objects.
  std::ofstream(r) << R"({"a": {"x": 1}, "b": {"x": 1}, "c": [{"x": 1}, {"x": 2}]})";
  CHECK(load_recipe(r.string())["c"][1]["x"] == 2);
  std::ofstream(r) << R"({"include": "missing.json"})";
  CHECK(error_of([&] { load_recipe(r.string()); }) ==
        "recipe " + r.string() + ": \"include\" names " +
            (tmp.fs_path() / "missing.json").string() + ", which does not exist");
}

TEST_CASE("--set indexes lists by number and refuses duplicate keys in its JSON") {
  nlohmann::json r = {{"model", {{"layers", {{{"type", "conv2d"}}, {{"type", "relu"}}}}}}};
  apply_overrides(r, {"model.layers.0.out_channels=64"});
  CHECK(r["model"]["layers"][0]["out_channels"] == 64);
  CHECK(error_of([&] { apply_overrides(r, {"model.layers.2.p=0.1"}); }) ==
        "--set model.layers.2.p=0.1: \"model.layers\" is a list of 2; \"2\" is not an index in it");
  CHECK(error_of([&] {
          apply_overrides(r, {R"(model.encoder={"a": 1, "a": 2})"});
        }).find("duplicate key \"a\"") != std::string::npos);
  apply_overrides(r, {"model.encoder.type=lstm"});
  CHECK(r["model"]["encoder"]["type"] == "lstm");
  // JSON keys and strings are UTF-8; a stray byte would end in nlohmann's exception, not ours.
  CHECK(error_of([&] { apply_overrides(r, {"train.epochs=caf\xe9"}); }) ==
        "--set train.epochs=caf\xe9: the value is not valid UTF-8");
  CHECK(error_of([&] { apply_overrides(r, {"train.ep\xffochs=2"}); }) ==
        "--set train.ep\xffochs=2: the path is not valid UTF-8");
}

TEST_CASE("allocations are checked before malloc: overflow, negative sizes, the machine's memory") {
  CHECK(error_of([] {
          Tensor::empty({int64_t{1} << 40, int64_t{1} << 40});
        }) ==
        "tensor: shape [1099511627776, 1099511627776] has more elements than an int64 can count");
  CHECK(error_of([] { Tensor::empty({3, -2}); }) == "tensor: negative size in shape [3, -2]");
  REQUIRE(physical_memory_bytes() > 0);
  const std::string e = error_of([] { Tensor::empty({int64_t{1} << 40, 1024}); });
  CHECK(e.find("tensor: shape [1099511627776, 1024] of float32 needs 4.19e+06 GiB, more than the "
               "machine's ") == 0);
  CHECK(e.find(" GiB of memory") != std::string::npos);
  {
    const AllocationBudget budget(1 << 20, "the test's tensors");  // 1 MiB
    const Tensor half = Tensor::empty({1 << 17});                  // 512 KiB
    CHECK(error_of([] {
            Tensor::empty({1 << 17, 2});
          }) ==
          "tensor: shape [131072, 2] of float32 needs 0.000977 GiB beside the 0.000488 GiB of the "
          "test's tensors so far, more than its budget of 0.000977 GiB");
  }
  CHECK(Tensor::empty({1 << 17}).numel() == 1 << 17);  // the budget ended with its scope
  {
    const AllocationBudget outer(1 << 20, "the outer tensors");
    const Tensor first = Tensor::empty({1 << 17});  // 512 KiB of the outer budget
    const AllocationBudget inner(4 << 20, "the inner tensors");
    CHECK(error_of([] { Tensor::empty({1 << 18}); }).find("of the outer tensors so far") !=
          std::string::npos);  // within the inner budget, beyond the outer one
  }
}

namespace {

nlohmann::json rows_model(const nlohmann::json& encoder, const nlohmann::json& extra = {}) {
  nlohmann::json m = {{"type", "sequence_classifier"}, {"encoder", encoder}};
  for (const auto& [k, v] : extra.items()) m[k] = v;
  return m;
}

std::string model_error(const nlohmann::json& model, const Shape& input = {28, 28}) {
  Generator gen(1);
  return error_of([&] { build_model(Config(model, "model"), DataInfo{input, 10}, gen); });
}

}  // namespace

TEST_CASE("model values that crashed or exhausted the machine are refused by path") {
  const nlohmann::json conv = {{"type", "image_classifier"},
                               {"layers",
                                {{{"type", "conv2d"},
                                  {"out_channels", std::numeric_limits<int64_t>::max()},
                                  {"kernel_size", 3}},
                                 {{"type", "flatten"}}}}};
  CHECK(model_error(conv, {1, 28, 28}) ==
        "recipe: \"model.layers.0.out_channels\" must be in [1, 1048576], got "
        "9223372036854775807");
  CHECK(model_error(rows_model({{"type", "lstm"}, {"num_layers", 1000000000000}})) ==
        "recipe: \"model.encoder.num_layers\" must be in [1, 1024], got 1000000000000");
  CHECK(model_error(rows_model({{"type", "transformer"}, {"d_model", -1}})) ==
        "recipe: \"model.encoder.d_model\" must be in [1, 1048576], got -1");
  CHECK(model_error(rows_model({{"type", "transformer"}, {"d_model", 64}, {"nhead", 5}})) ==
        "recipe: \"model.encoder.d_model\" (64) must be divisible by \"model.encoder.nhead\" (5)");
  CHECK(model_error(rows_model({{"type", "lstm"}}, {{"label_smoothing", 5}})) ==
        "recipe: \"model.label_smoothing\" must be in [0, 1], got 5");
  CHECK(model_error(rows_model(
            {{"type", "gru"}},
            {{"pooling",
              {{"type", "attention"}, {"attention", {{"type", "local_p"}, {"window", 0}}}}}})) ==
        "recipe: \"model.pooling.attention.window\" must be in [1, 1048576], got 0");
  // In range, but more than the machine: refused while the model is built, by the layer's path.
  const std::string wide = model_error(rows_model({{"type", "lstm"}, {"hidden_size", 1 << 20}}));
  CHECK(wide.find("recipe: \"model.encoder\": tensor: shape [4194304, 1048576] of float32 needs "
                  "1.64e+04 GiB") == 0);
  // Cross-field checks name both keys.
  const nlohmann::json groups = {
      {"type", "image_classifier"},
      {"layers",
       {{{"type", "conv2d"}, {"out_channels", 8}, {"kernel_size", 3}, {"groups", 3}},
        {{"type", "flatten"}}}}};
  CHECK(model_error(groups, {1, 28, 28}) ==
        "recipe: \"model.layers.0.groups\" (3) must divide the input's channels (1) and "
        "\"model.layers.0.out_channels\" (8)");
  const nlohmann::json pool = {
      {"type", "image_classifier"},
      {"layers",
       {{{"type", "max_pool2d"}, {"kernel_size", 2}, {"padding", 2}}, {{"type", "flatten"}}}}};
  CHECK(model_error(pool, {1, 28, 28}) ==
        "recipe: \"model.layers.0.padding\" (2) must be at most half of "
        "\"model.layers.0.kernel_size\" (2)");
  // A constructor's own check comes out with the path of the part it builds; here a Linear
  // weight beyond what oneDNN 2.6's matmul survives.
  const nlohmann::json wide_head = {
      {"type", "image_classifier"},
      {"layers", {{{"type", "flatten"}}, {{"type", "linear"}, {"out_features", 1 << 20}}}}};
  CHECK(model_error(wide_head, {1024, 1024}) ==
        "recipe: \"model.layers.1\": Linear: a weight of [1048576, 1048576] is beyond 2 GiB "
        "(536870912 float32 values), where oneDNN 2.6's matmul can crash");
}

namespace {

// The RecipeError `fn` throws (a failed check when it throws none, or another type).
RecipeError recipe_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const RecipeError& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL_CHECK("expected a heed::RecipeError, got: ", e.what());
    return RecipeError("", e.what());
  }
  FAIL_CHECK("expected a heed::RecipeError, none was thrown");
  return RecipeError("", "");
}

}  // namespace

TEST_CASE("RecipeError: its type, not its text, decides whether with_recipe_path prefixes it") {
  // A layer constructor's own check, thrown two parts deep (the model, then its layer), comes
  // out prefixed once, with the layer's path.
  const nlohmann::json wide_head = {
      {"type", "image_classifier"},
      {"layers", {{{"type", "flatten"}}, {{"type", "linear"}, {"out_features", 1 << 20}}}}};
  Generator gen(1);
  const RecipeError layer = recipe_error_of([&] {
    build_model(Config(wide_head, "model"), DataInfo{{1024, 1024}, 10}, gen);
  });
  CHECK(layer.path() == "model.layers.1");
  const std::string message = layer.what();
  CHECK_MESSAGE(message.rfind("recipe: \"model.layers.1\": Linear: a weight of ", 0) == 0, message);
  CHECK_MESSAGE(message.find("recipe", 1) == std::string::npos, message);
  const RecipeError nested = recipe_error_of([] {
    with_recipe_path("model", [] {
      return with_recipe_path("model.encoder", []() -> int { throw Error("LSTM: bad"); });
    });
  });
  CHECK(std::string(nested.what()) == "recipe: \"model.encoder\": LSTM: bad");
  CHECK(nested.path() == "model.encoder");

  // A RecipeError passes unchanged whatever its text starts with, and keeps its path.
  const RecipeError set = recipe_error_of([] {
    with_recipe_path("model", []() -> int {
      throw RecipeError("train.epochs", "--set train.epochs=x: not a recipe-prefixed text");
    });
  });
  CHECK(std::string(set.what()) == "--set train.epochs=x: not a recipe-prefixed text");
  CHECK(set.path() == "train.epochs");
  // Any other error is prefixed, even one whose text starts with "recipe".
  const RecipeError plain = recipe_error_of(
      [] { with_recipe_path("model", []() -> int { throw Error("recipe-like text"); }); });
  CHECK(std::string(plain.what()) == "recipe: \"model\": recipe-like text");
  CHECK(plain.path() == "model");

  // The path is the value's: from Config, a registry, a cross-field check, a recipe file.
  const Config c({{"encoder", {{"hidden_size", -1}, {"hiden", 1}}}}, "model");
  CHECK(recipe_error_of([&] {
          c.child("encoder").get<int64_t>("hidden_size", 1, range::size);
        }).path() == "model.encoder.hidden_size");
  CHECK(recipe_error_of([&] {
          const Config e = c.child("encoder");
          e.has("hidden_size");
          e.finish();
        }).path() == "model.encoder.hiden");
  CHECK(recipe_error_of([&] { c.require<int64_t>("layers"); }).path() == "model.layers");
  CHECK(recipe_error_of([&] {
          c.choice("pooling", "x", {"last", "mean"});
        }).path() == "model.pooling");
  CHECK(recipe_error_of([&] {
          build_model(Config({{"type", "sequence_clasifier"}}, "model"), {{28, 28}, 10}, gen);
        }).path() == "model.type");
  const nlohmann::json groups = {
      {"type", "image_classifier"},
      {"layers",
       {{{"type", "conv2d"}, {"out_channels", 8}, {"kernel_size", 3}, {"groups", 3}},
        {{"type", "flatten"}}}}};
  const RecipeError cross = recipe_error_of([&] {
    build_model(Config(groups, "model"), {{1, 28, 28}, 10}, gen);
  });
  CHECK(cross.path() == "model.layers.0.groups");
  CHECK(std::string(cross.what()).rfind("recipe: \"model.layers.0.groups\" (3) must divide", 0) ==
        0);
  nlohmann::json recipe = {{"model", {{"layers", {1, 2}}}}};
  CHECK(recipe_error_of([&] { apply_overrides(recipe, {"model.layers.2.p=0.1"}); }).path() ==
        "model.layers.2.p");
  CHECK(recipe_error_of([] {
          parse_recipe_text("{\"a\": {\"b\": 1, \"b\": 2}}", "r.json");
        }).path() == "a.b");
}

TEST_CASE("the model's probe leaves the generator and the running statistics as they were") {
  Generator gen(7);
  const nlohmann::json cnn = {{"type", "image_classifier"},
                              {"layers",
                               {{{"type", "conv2d"}, {"out_channels", 4}, {"kernel_size", 3}},
                                {{"type", "batch_norm2d"}},
                                {{"type", "dropout"}, {"p", 0.5}},
                                {{"type", "flatten"}}}}};
  const DataInfo info{{1, 8, 8}, 3};
  const auto model = build_model(Config(cnn, "model"), info, gen);
  const auto state = gen.state();
  CHECK(model_metric_names(*model, info, gen) == std::vector<std::string>{"loss", "accuracy"});
  CHECK(gen.state() == state);
  CHECK(model->is_training());
  for (const auto& [name, t] : model->state_dict())
    if (name.find("running_mean") != std::string::npos)
      CHECK(t.to_vector() == std::vector<float>(4, 0.f));
}

TEST_CASE("optimizer and schedule values are refused by path, with PyTorch's ranges") {
  Generator gen(1);
  const StateDict params = {{"w", Tensor::zeros({2, 2})}};
  auto optimizer_error = [&](const nlohmann::json& o) {
    return error_of([&] { build_optimizer(Config(o, "optimizer"), params); });
  };
  CHECK(optimizer_error({{"name", "sgd"}, {"lr", -1}}) ==
        "recipe: \"optimizer.lr\" must be >= 0, got -1");
  CHECK(optimizer_error({{"name", "adam"}, {"betas", {0.9, 1}}}) ==
        "recipe: \"optimizer.betas.1\" must be in [0, 1), got 1");
  CHECK(optimizer_error({{"name", "sgd"}, {"lr", 0.1}, {"momentum", 1.5}}) ==
        "recipe: \"optimizer.momentum\" must be in [0, 1], got 1.5");
  CHECK(optimizer_error(
            {{"name", "adamw"}, {"param_groups", {{{"params", {"w"}}, {"weight_decay", -0.1}}}}}) ==
        "recipe: \"optimizer.param_groups.0.weight_decay\" must be >= 0, got -0.1");
  CHECK(optimizer_error({{"name", "sgd"}, {"lr", 0.1}, {"nesterov", true}})
            .find("recipe: \"optimizer\": SGD: ") == 0);

  auto optimizer = build_optimizer(Config({{"name", "sgd"}, {"lr", 0.1}}, "optimizer"), params);
  auto schedule_error = [&](const nlohmann::json& s, int64_t steps = 100) {
    return error_of([&] { build_scheduler(Config({{"schedule", s}}, ""), *optimizer, steps, 1); });
  };
  CHECK(schedule_error({{"name", "step"}, {"step_size", 0}}) ==
        "recipe: \"schedule.step_size\" must be in [1, 1099511627776], got 0");
  CHECK(schedule_error({{"name", "multi_step"}, {"milestones", {10, 5}}}) ==
        "recipe: \"schedule.milestones.1\" must be above the milestone before it (10), got 5");
  CHECK(schedule_error({{{"name", "cosine"}}, {{"name", "reduce_on_plateau"}, {"factor", 1}}}) ==
        "recipe: \"schedule.1.factor\" must be in (0, 1), got 1");
  // PyTorch raises when one_cycle steps past total_steps; here the recipe is refused up front.
  CHECK(schedule_error({{"name", "one_cycle"}, {"total_steps", 50}}) ==
        "recipe: \"schedule.total_steps\" must be at least the run's length, 100 (one_cycle "
        "cannot step past total_steps), got 50");
  // With the names an evaluation reports, a watched metric's typo is refused when the recipe is
  // read, not at the first evaluation.
  const std::vector<std::string> metrics = {"loss", "accuracy", "epoch"};
  CHECK(error_of([&] {
          build_scheduler(
              Config({{"schedule", {{"name", "reduce_on_plateau"}, {"metric", "acuracy"}}}}, ""),
              *optimizer, 100, 1, metrics);
        }) ==
        "recipe: unknown value \"acuracy\" at \"schedule.metric\"; did you mean \"accuracy\"? "
        "(valid: loss, accuracy, epoch)");
  CHECK(error_of([&] {
          build_early_stopping(Config({{"metric", "los"}}, "train.early_stopping"), metrics);
        }).find("\"train.early_stopping.metric\"; did you mean \"loss\"?") != std::string::npos);
  CHECK(error_of([] {
          build_early_stopping(Config({{"patience", 0}}, "train.early_stopping"));
        }) == "recipe: \"train.early_stopping.patience\" must be in [1, 1099511627776], got 0");
}

TEST_CASE("dataset_info checks the data section without reading the data") {
  CHECK(error_of([] {
          dataset_info(Config({{"name", "fashion_mnist"}, {"max_train_samples", -5}}, "data"));
        }) == "recipe: \"data.max_train_samples\" must be in [0, 1099511627776], got -5");
  const DataInfo info = dataset_info(
      Config({{"name", "fashion_mnist"}, {"layout", "image"}, {"path", "/nowhere"}}, "data"));
  CHECK(info.input_shape == Shape{1, 28, 28});
  CHECK(info.num_classes == 10);
}
