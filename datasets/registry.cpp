// The dataset registry: every dataset a recipe can name under "data.name", one explicit list.

#include "framework/registry.h"
#include "datasets/fashion_mnist.h"

namespace heed {

namespace {

DataSplits fashion_mnist(const Config& c) {
  const std::string path = c.get<std::string>("path", "/usr/share/datasets/fashion-mnist");
  const std::string layout = c.choice("layout", "rows", {"rows", "image"});
  const int64_t max_train = c.get<int64_t>("max_train_samples", 0);
  const int64_t max_test = c.get<int64_t>("max_test_samples", 0);
  c.finish();
  DataSplits s;
  s.train = std::make_shared<data::FashionMnist>(path, "train", layout, max_train);
  s.test = std::make_shared<data::FashionMnist>(path, "test", layout, max_test);
  s.info = {layout == "image" ? Shape{1, 28, 28} : Shape{28, 28}, 10};
  return s;
}

struct Entry {
  RegistryEntry about;
  DataSplits (*build)(const Config&);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"dataset", "fashion_mnist",
        "Fashion-MNIST, 60k/10k 28x28 images in 10 classes (Debian dataset-fashion-mnist)",
        "path (string, /usr/share/datasets/fashion-mnist), layout (\"rows\" [batch, 28, 28] | "
        "\"image\" "
        "[batch, 1, 28, 28]), max_train_samples (int, 0 = all), max_test_samples (int, 0 = all)"},
       fashion_mnist},
  };
  return list;
}

}  // namespace

DataSplits build_dataset(const Config& config) {
  const std::string name = config.require<std::string>("name");
  return find_entry(entries(), name, "dataset", config.path_of("name")).build(config);
}

std::vector<RegistryEntry> list_datasets() {
  return abouts(entries());
}

}  // namespace heed
