#include "layers/models/image_classifier.h"

#include "framework/autograd.h"
#include "layers/linear.h"
#include "layers/models/classification.h"

namespace heed::nn {

namespace {

// nn.Sequential's container: children "0", "1", ... so keys read "layers.3.weight".
class Sequential : public Module {
 public:
  void add(std::shared_ptr<Module> m) { register_module(std::to_string(size_++), std::move(m)); }
  std::string repr() const override { return "Sequential()"; }

 private:
  int64_t size_ = 0;
};

// The per-example shape a layer produces, by running it once in eval mode on zeros (so no
// running statistic moves), with the recipe path prefixed to any shape error.
Shape output_shape(const ImageLayer& b, const Shape& in, const std::string& path) {
  NoGradGuard no_grad;
  Shape batch{2};
  batch.insert(batch.end(), in.begin(), in.end());
  b.module->eval();
  Shape out;
  try {
    out = b.forward(Tensor::zeros(batch)).shape();
  } catch (const std::exception& e) {  // heed's checks, oneDNN's, an allocation's
    throw recipe_error(path, " does not fit its input [batch, ", shape_str(in).substr(1), ": ",
                       e.what());
  }
  b.module->train();
  return Shape(out.begin() + 1, out.end());
}

}  // namespace

ImageClassifierOptions ImageClassifierOptions::from_config(const Config& c) {
  HEED_RECIPE_CHECK(c.describing() || (c.has("layers") && c.json().at("layers").is_array()),
                    c.path_of("layers"), " must be a list of layers, e.g. [{\"type\": \"conv2d\", ",
                    "\"out_channels\": 32, \"kernel_size\": 3}, {\"type\": \"relu\"}, {\"type\": ",
                    "\"flatten\"}]");
  ImageClassifierOptions o;
  for (const Config& layer : c.objects("layers"))
    o.layers.push_back({layer.path(), image_layer_from_config(layer)});
  o.label_smoothing = c.get<float>("label_smoothing", 0.f, range::probability);
  c.finish();
  return o;
}

ImageClassifier::ImageClassifier(const Config& c, const DataInfo& info, Generator& gen) {
  const ImageClassifierOptions o = ImageClassifierOptions::from_config(c);
  auto layers = std::make_shared<Sequential>();
  Shape shape = info.input_shape;
  for (const ImageClassifierOptions::Layer& layer : o.layers) {
    const ImageLayer b = with_recipe_path(layer.path, [&] { return layer.build(shape, gen); });
    shape = output_shape(b, shape, layer.path);
    layers->add(b.module);
    steps_.push_back(b.forward);
  }
  HEED_RECIPE_CHECK(shape.size() == 1, c.path_of("layers"), " must end flat, with ",
                    "[batch, features], before the automatic Linear head; it ends with [batch, ",
                    shape_str(shape).substr(1), " (add {\"type\": \"flatten\"})");
  // The head's size comes from the layers' output (e.g. a flatten of a wide conv).
  auto head = with_recipe_path(c.path_of("layers"), [&] {
    return std::make_shared<Linear>(shape[0], info.num_classes, gen);
  });
  layers->add(head);
  steps_.push_back([head](const Tensor& x) { return head->forward(x); });
  layers_ = register_module("layers", layers);
  label_smoothing_ = o.label_smoothing;
}

Tensor ImageClassifier::logits(const Tensor& input) const {
  Tensor h = input;
  for (const auto& step : steps_) h = step(h);
  return h;
}

ModelOutput ImageClassifier::forward(const Batch& batch) {
  return classification_output(*this, logits(batch.input), batch.target, label_smoothing_);
}

std::string ImageClassifier::repr() const {
  return "ImageClassifier(layers=" + std::to_string(steps_.size()) + ")";
}

}  // namespace heed::nn
