// The dataset registry: every dataset a recipe can name under "data.name", one explicit list.

#include "framework/registry.h"
#include "datasets/fashion_mnist.h"

namespace heed {

namespace {

struct FashionMnistOptions {
  std::string path, layout;
  int64_t max_train = 0, max_test = 0;
};

FashionMnistOptions fashion_mnist_options(const Config& c) {
  FashionMnistOptions o;
  o.path = c.get<std::string>("path", "/usr/share/datasets/fashion-mnist");
  o.layout = c.choice("layout", "rows", {"rows", "image"});
  o.max_train = c.get<int64_t>("max_train_samples", 0, range::count_or_zero);
  o.max_test = c.get<int64_t>("max_test_samples", 0, range::count_or_zero);
  c.finish();
  return o;
}

DataInfo fashion_mnist_info(const Config& c) {
  const FashionMnistOptions o = fashion_mnist_options(c);
  return {o.layout == "image" ? Shape{1, 28, 28} : Shape{28, 28}, 10};
}

DataSplits fashion_mnist(const Config& c) {
  const FashionMnistOptions o = fashion_mnist_options(c);
  DataSplits s;
  s.train = std::make_shared<data::FashionMnist>(o.path, "train", o.layout, o.max_train);
  s.test = std::make_shared<data::FashionMnist>(o.path, "test", o.layout, o.max_test);
  s.info = fashion_mnist_info(c);
  return s;
}

struct Entry {
  RegistryEntry about;
  DataSplits (*build)(const Config&);
  DataInfo (*info)(const Config&);  // the options checked, no file read
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"dataset", "fashion_mnist",
        "Fashion-MNIST, 60k/10k 28x28 images in 10 classes (Debian dataset-fashion-mnist)",
        "path (string, /usr/share/datasets/fashion-mnist), layout (\"rows\" [batch, 28, 28] | "
        "\"image\" [batch, 1, 28, 28]), max_train_samples (int in [0, 2^40], 0 = all), "
        "max_test_samples (int in [0, 2^40], 0 = all)"},
       fashion_mnist,
       fashion_mnist_info},
  };
  return list;
}

const Entry& find_dataset(const Config& config) {
  const std::string name = config.require<std::string>("name");
  return find_entry(entries(), name, "dataset", config.path_of("name"));
}

}  // namespace

DataSplits build_dataset(const Config& config) {
  const Entry& entry = find_dataset(config);
  return with_recipe_path(config.path(), [&] { return entry.build(config); });
}

DataInfo dataset_info(const Config& config) {
  const Entry& entry = find_dataset(config);
  return with_recipe_path(config.path(), [&] { return entry.info(config); });
}

std::vector<RegistryEntry> list_datasets() {
  return abouts(entries());
}

}  // namespace heed
