// The dataset registry: every dataset a recipe can name under "data.name", one explicit list.

#include "framework/registry.h"
#include "datasets/adding.h"
#include "datasets/cmudict.h"
#include "datasets/fashion_mnist.h"
#include "datasets/synthetic.h"
#include "datasets/text.h"

#include <algorithm>
#include <set>

namespace heed {

namespace {

struct FashionMnistOptions {
  std::string path, layout;
  int64_t dev = 5000, max_train = 0, max_test = 0;
};

FashionMnistOptions fashion_mnist_options(const Config& c) {
  FashionMnistOptions o;
  o.path = c.get<std::string>("path", "/usr/share/datasets/fashion-mnist");
  o.layout = c.choice("layout", "rows", {"rows", "image", "pixels", "permuted_pixels"});
  // At most the training file's 60,000 less one example to train on.
  o.dev = c.get<int64_t>("dev_samples", 5000, Range{0, 59999});
  o.max_train = c.get<int64_t>("max_train_samples", 0, range::count_or_zero);
  o.max_test = c.get<int64_t>("max_test_samples", 0, range::count_or_zero);
  c.finish();
  return o;
}

DataInfo fashion_mnist_info(const Config& c) {
  const FashionMnistOptions o = fashion_mnist_options(c);
  DataInfo info{data::fashion_mnist_shape(o.layout), 10};
  info.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return info;
}

// train: the training file's first N - dev (at most max_train_samples); dev: its last `dev`
// (the first max_test_samples of them, as the other datasets cap dev with test).
DataSplits fashion_mnist(const Config& c, const BatchSizes&) {
  const FashionMnistOptions o = fashion_mnist_options(c);
  const data::FashionMnistSplit train_file = data::read_fashion_mnist(o.path, "train");
  const int64_t n = train_file.labels.dims[0];
  HEED_CHECK(o.dev < n, c.path_of("dev_samples"), " = ", o.dev,
             " leaves no training example of the ", n, " in the training file");
  const int64_t train = o.max_train > 0 ? std::min(o.max_train, n - o.dev) : n - o.dev;
  DataSplits s;
  s.train = std::make_shared<data::FashionMnist>(train_file, 0, train, o.layout);
  if (o.dev > 0)
    s.dev = std::make_shared<data::FashionMnist>(
        train_file, n - o.dev, o.max_test > 0 ? std::min(o.max_test, o.dev) : o.dev, o.layout);
  const data::FashionMnistSplit test_file = data::read_fashion_mnist(o.path, "test");
  const int64_t test = test_file.labels.dims[0];
  s.test = std::make_shared<data::FashionMnist>(
      test_file, 0, o.max_test > 0 ? std::min(o.max_test, test) : test, o.layout);
  s.info = fashion_mnist_info(c);
  return s;
}

struct CmudictRecipe {
  std::string path;
  data::CmudictOptions options;
  int64_t max_train = 0;
  int64_t max_test = 0;  // of dev and of test each
};

CmudictRecipe cmudict_options(const Config& c) {
  CmudictRecipe o;
  o.path = c.get<std::string>("path", "/usr/share/festival/dicts/cmu/cmudict-0.4.out");
  o.options.stress = c.choice("stress", "strip", {"strip", "keep"});
  o.options.merge_ax = c.get<bool>("merge_ax", false);
  o.max_train = c.get<int64_t>("max_train_samples", 0, range::count_or_zero);
  o.max_test = c.get<int64_t>("max_test_samples", 0, range::count_or_zero);
  c.finish();
  return o;
}

// The sorted set of `tokens` of every pronunciation, as one closed vocabulary.
template <class Tokens>
Vocabulary closed_vocabulary(const std::vector<data::Pronunciation>& all, Tokens tokens) {
  std::set<std::string> seen;
  for (const data::Pronunciation& p : all)
    for (const std::string& t : tokens(p)) seen.insert(t);
  return Vocabulary(std::vector<std::string>(seen.begin(), seen.end()), /*open=*/false);
}

// Both vocabularies come from the whole file (graphemes and phonemes are closed inventories, and
// a test word's letter must not be <unk>), so the info reads the file: about 0.3 s for Festival's.
DataInfo cmudict_info(const std::vector<data::Pronunciation>& all) {
  DataInfo info;
  info.input_kind = InputKind::Tokens;
  info.target_kind = TargetKind::Tokens;
  info.variable_length = true;
  info.input_vocab =
      closed_vocabulary(all, [](const data::Pronunciation& p) { return data::graphemes(p.word); });
  info.target_vocab =
      closed_vocabulary(all, [](const data::Pronunciation& p) { return p.phonemes; });
  int64_t longest = 1;
  for (const data::Pronunciation& p : all)
    longest = std::max<int64_t>(longest, static_cast<int64_t>(data::graphemes(p.word).size()));
  info.input_shape = {longest};
  info.num_classes = info.target_vocab->size();
  return info;
}

DataInfo cmudict_info(const Config& c) {
  const CmudictRecipe o = cmudict_options(c);
  return cmudict_info(data::read_cmudict(o.path, o.options));
}

// Words split by CRC-32 (datasets/cmudict.h); max_train_samples keeps train's first
// pronunciations, max_test_samples dev's and test's.
DataSplits cmudict(const Config& c, const BatchSizes&) {
  const CmudictRecipe o = cmudict_options(c);
  const std::vector<data::Pronunciation> all = data::read_cmudict(o.path, o.options);
  std::vector<data::Pronunciation> split[3];
  for (const data::Pronunciation& p : all)
    split[static_cast<int>(data::cmudict_split(p.word))].push_back(p);
  for (int i = 0; i < 3; ++i) {
    const int64_t keep = i == 0 ? o.max_train : o.max_test;
    if (keep > 0 && static_cast<int64_t>(split[i].size()) > keep)
      split[i].resize(static_cast<size_t>(keep));
  }
  DataSplits s;
  s.info = cmudict_info(all);
  const Vocabulary &in = *s.info.input_vocab, &out = *s.info.target_vocab;
  s.train = std::make_shared<data::G2PDataset>(split[0], in, out);
  s.dev = std::make_shared<data::G2PDataset>(split[1], in, out);
  s.test = std::make_shared<data::G2PDataset>(split[2], in, out);
  return s;
}

struct TextRecipe {
  std::string path;
  int64_t bptt = 128;
  int64_t max_train = 0, max_test = 0;
  bool carry_state = false;  // the splits as streams (datasets/text.h), for a recurrent model
};

TextRecipe text_options(const Config& c) {
  TextRecipe o;
  o.path = c.get<std::string>("path", "/usr/share/games/fortunes");
  o.bptt = c.get<int64_t>("bptt", 128, range::size);
  o.max_train = c.get<int64_t>("max_train_samples", 0, range::count_or_zero);
  o.max_test = c.get<int64_t>("max_test_samples", 0, range::count_or_zero);
  o.carry_state = c.get<bool>("carry_state", false);
  c.finish();
  return o;
}

// The corpus cut 90 / 5 / 5 (datasets/text.h), as characters.
struct TextCorpus {
  std::vector<std::string> split[3];
};

TextCorpus read_text_splits(const std::string& path) {
  std::vector<std::string> chars = data::read_text_corpus(path);
  const auto n = static_cast<int64_t>(chars.size());
  const int64_t train = n * 90 / 100, dev = n * 95 / 100 - train;
  TextCorpus c;
  c.split[0].assign(chars.begin(), chars.begin() + train);
  c.split[1].assign(chars.begin() + train, chars.begin() + train + dev);
  c.split[2].assign(chars.begin() + train + dev, chars.end());
  return c;
}

// Train's characters in code-point order (UTF-8 byte order is code-point order), open.
DataInfo text_info(const TextCorpus& corpus, const TextRecipe& o) {
  const std::set<std::string> seen(corpus.split[0].begin(), corpus.split[0].end());
  DataInfo info;
  info.input_shape = {o.bptt};
  info.input_kind = InputKind::Tokens;
  info.target_kind = TargetKind::Tokens;
  info.variable_length = true;
  info.input_vocab = Vocabulary(std::vector<std::string>(seen.begin(), seen.end()));
  info.target_vocab = info.input_vocab;
  info.num_classes = info.input_vocab->size();
  info.carry_state = o.carry_state;
  return info;
}

// The vocabulary is train's, so the info reads the corpus (2.6 MB for fortunes, well under 1 s).
DataInfo text_info(const Config& c) {
  const TextRecipe o = text_options(c);
  return text_info(read_text_splits(o.path), o);
}

// With carry_state, train is cut into train.batch_size streams and dev and test into
// train.eval_batch_size streams, the batch sizes they are served in (datasets/text.h).
DataSplits text(const Config& c, const BatchSizes& batch_sizes) {
  const TextRecipe o = text_options(c);
  HEED_CHECK(!o.carry_state || (batch_sizes.train > 0 && batch_sizes.eval > 0),
             "text: carry_state needs the batch sizes the splits are served in");
  const TextCorpus corpus = read_text_splits(o.path);
  DataSplits s;
  s.info = text_info(corpus, o);
  std::shared_ptr<data::TextWindows> splits[3];
  for (int i = 0; i < 3; ++i) {
    const char* name = i == 0 ? "train" : i == 1 ? "dev" : "test";
    const int64_t size = static_cast<int64_t>(corpus.split[i].size());
    HEED_CHECK(size >= 2, o.path, ": the ", name, " split holds ", size,
               " characters; the corpus is too short");
    const int64_t streams = !o.carry_state ? 1 : i == 0 ? batch_sizes.train : batch_sizes.eval;
    HEED_CHECK(size / streams >= 2, o.path, ": the ", name, " split holds ", size,
               " characters, too few to cut into ", streams, " streams of at least 2 (",
               c.path_of("carry_state"), " cuts it into ",
               i == 0 ? "train.batch_size" : "train.eval_batch_size",
               " streams): a smaller batch size, or a longer corpus");
    splits[i] =
        std::make_shared<data::TextWindows>(s.info.input_vocab->encode(corpus.split[i]), o.bptt,
                                            i == 0 ? o.max_train : o.max_test, streams);
  }
  s.train = splits[0], s.dev = splits[1], s.test = splits[2];
  return s;
}

struct SyntheticRecipe {
  data::SyntheticOptions task;
  int64_t train = 100000, dev = 1000, test = 1000;
};

SyntheticRecipe synthetic_options(const Config& c) {
  SyntheticRecipe o;
  o.task.task = c.choice("task", "copy", data::synthetic_tasks());
  o.task.length = c.get<int64_t>("length", 50, range::size);
  o.task.symbols = c.get<int64_t>("symbols", 8, range::size);
  o.task.count = c.get<int64_t>("count", 10, range::size);
  o.task.seed = static_cast<uint64_t>(c.get<int64_t>("seed", 1, range::non_negative));
  o.train = c.get<int64_t>("train_samples", 100000, range::count);
  o.dev = c.get<int64_t>("dev_samples", 1000, range::count);
  o.test = c.get<int64_t>("test_samples", 1000, range::count);
  // Caps every dataset has (a quick run, CI's 3-step recipe check): the splits' first N.
  const int64_t max_train = c.get<int64_t>("max_train_samples", 0, range::count_or_zero),
                max_test = c.get<int64_t>("max_test_samples", 0, range::count_or_zero);
  if (max_train > 0) o.train = std::min(o.train, max_train);
  if (max_test > 0) o.dev = std::min(o.dev, max_test), o.test = std::min(o.test, max_test);
  c.finish();
  // The task's own constraints (selective_copy's count, associative_recall's even length).
  with_recipe_path(c.path(), [&] { return data::synthetic_length(o.task); });
  return o;
}

DataInfo synthetic_info(const Config& c) {
  const SyntheticRecipe o = synthetic_options(c);
  if (o.task.task == "adding") {
    DataInfo info{{o.task.length, 2}, 1};
    info.target_kind = TargetKind::Value;
    return info;
  }
  DataInfo info;
  info.input_shape = {data::synthetic_length(o.task)};
  info.input_kind = InputKind::Tokens;
  info.target_kind = TargetKind::Tokens;
  info.input_vocab = data::synthetic_vocabulary(o.task);
  info.target_vocab = info.input_vocab;
  info.num_classes = info.input_vocab->size();
  return info;
}

DataSplits synthetic(const Config& c, const BatchSizes&) {
  const SyntheticRecipe o = synthetic_options(c);
  using data::SyntheticSplit;
  const auto split = [&](SyntheticSplit which, int64_t size) -> std::shared_ptr<Dataset> {
    if (o.task.task == "adding")
      return std::make_shared<data::AddingProblem>(o.task.length, o.task.seed, which, size);
    return std::make_shared<data::SyntheticTask>(o.task, which, size);
  };
  DataSplits s;
  s.info = synthetic_info(c);
  s.train = split(SyntheticSplit::Train, o.train);
  s.dev = split(SyntheticSplit::Dev, o.dev);
  s.test = split(SyntheticSplit::Test, o.test);
  return s;
}

struct Entry {
  RegistryEntry about;  // `options` is generated from `read` and `notes` (list_datasets)
  DataSplits (*build)(const Config&, const BatchSizes&);
  DataInfo (*info)(const Config&);  // the options checked, no file read
  void (*read)(const Config&);      // the options `build` and `info` read, and nothing else
  std::vector<OptionNote> notes;    // what the recorded defaults and ranges do not say
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"dataset", "fashion_mnist",
        "Fashion-MNIST, 28x28 images in 10 classes (Debian dataset-fashion-mnist): train the "
        "training file's first 55k, dev its last 5k, test the 10k of the test file",
        ""},
       fashion_mnist,
       fashion_mnist_info,
       [](const Config& c) { fashion_mnist_options(c); },
       {{"bucket_by_length", "", "true only for variable-length examples"},
        {"path", "", "the folder of the four idx files"},
        {"layout", "",
         "\"rows\": [batch, 28, 28], \"image\": [batch, 1, 28, 28], \"pixels\": [batch, 784, 1] "
         "(sequential), \"permuted_pixels\": the same in one fixed random order"},
        {"dev_samples", "", "0: no dev split, train on all 60k"},
        {"max_train_samples", "", "0: all"},
        {"max_test_samples", "", "dev's and test's first N images each; 0: all"}}},
      {{"dataset", "cmudict",
        "grapheme-to-phoneme on the CMU Pronouncing Dictionary (Debian festlex-cmu, or a "
        "CMUdict 0.7b text file): letters in, ARPAbet phonemes out; words split by CRC-32 into "
        "train 90% / dev 5% / test 5%",
        ""},
       cmudict,
       cmudict_info,
       [](const Config& c) { cmudict_options(c); },
       {{"bucket_by_length", "", "batches of words of similar length"},
        {"path", "", "Festival's cmudict-0.4.out or a CMUdict 0.7b file"},
        {"stress", "", "\"strip\": AE1 -> AE; \"keep\": vowels carry their stress digit"},
        {"merge_ax", "", "Festival's reduced vowel AX becomes AH, as in CMUdict 0.7b"},
        {"max_train_samples", "", "0: all"},
        {"max_test_samples", "", "dev's and test's first N pronunciations each; 0: all"}}},
      {{"dataset", "text",
        "character-level language modeling on UTF-8 text (Debian fortunes by default): windows "
        "of bptt characters, target the next character; a contiguous 90% / 5% / 5% split",
        ""},
       text,
       text_info,
       [](const Config& c) { text_options(c); },
       {{"bucket_by_length", "", "every window but the last has bptt characters"},
        {"path", "", "a UTF-8 file, or a folder of them (links and .dat files skipped)"},
        {"bptt", "", "characters per window (truncated backpropagation through time)"},
        {"max_train_samples", "",
         "0: all windows of train; with carry_state the first ceil(N / batch_size) of each "
         "stream"},
        {"max_test_samples", "",
         "dev's and test's first N windows each; 0: all; with carry_state the first "
         "ceil(N / eval_batch_size) of each stream"},
        {"carry_state", "",
         "each split cut into batch-size streams served in order, a recurrent language model "
         "carrying its state from one window to the next (not with bucket_by_length)"}}},
      {{"dataset", "synthetic",
        "long-range token test beds generated from data.seed (datasets/synthetic.h): copy, "
        "reverse and sort after `length` blanks (Arjovsky et al. 2016), selective copy (Gu & "
        "Dao 2023), associative recall (Ba et al. 2016), context-dependent recall (count tables "
        "over the same keys, the query naming its table), each for a language_model scored at "
        "the answer steps only; and the adding problem (Hochreiter & Schmidhuber 1997), a "
        "regression "
        "for a sequence_classifier with loss mse or huber",
        ""},
       synthetic,
       synthetic_info,
       [](const Config& c) { synthetic_options(c); },
       {{"bucket_by_length", "", "every example of a task has one length"},
        {"task", "", "what the model answers after the delimiter, or \"adding\""},
        {"length", "",
         "the blanks between the symbols and the delimiter (copy, reverse, sort), the span the "
         "symbols hide in (selective_copy), the key and value steps (associative_recall, even; "
         "context_recall, a multiple of 2 count), the steps (adding)"},
        {"symbols", "", "the alphabet's size"},
        {"count", "",
         "the symbols to copy (not associative_recall); context_recall: the tables (2 to 26)"},
        {"seed", "",
         "draws every example: the splits are fixed by it, whatever train.seed (so a study over "
         "train seeds trains on the same data)"},
        {"train_samples", "", "examples drawn for train (each epoch reads the same ones)"},
        {"max_train_samples", "", "train's first N; 0: all"},
        {"max_test_samples", "", "dev's and test's first N each; 0: all"}}},
  };
  return list;
}

const Entry& find_dataset(const Config& config) {
  const std::string name = config.require<std::string>("name");
  return find_entry(entries(), name, "dataset", config.path_of("name"));
}

// The keys every dataset takes, read before the dataset's own (whose finish() then knows them).
bool bucket_by_length(const Config& config) {
  return config.get<bool>("bucket_by_length", false);
}

// Bucketing sorts by example length: a dataset whose examples all have one size has none, and
// one laid out as streams must be served in order.
void check_bucketing(const Config& config, bool bucket, const DataInfo& info) {
  HEED_RECIPE_CHECK(!bucket || info.variable_length, config.path_of("bucket_by_length"),
                    " is true, but dataset \"", config.require<std::string>("name"),
                    "\" has fixed-size examples: there is no length to bucket by");
  HEED_RECIPE_CHECK(!bucket || !info.carry_state, config.path_of("bucket_by_length"),
                    " is true, but ", config.path_of("carry_state"),
                    " serves the windows in stream order, which bucketing would shuffle: set "
                    "one of them to false");
}

}  // namespace

DataSplits build_dataset(const Config& config, const BatchSizes& batch_sizes) {
  const Entry& entry = find_dataset(config);
  const bool bucket = bucket_by_length(config);
  // Checked on the info, which reads no data, so a bad recipe fails before the files are read.
  check_bucketing(config, bucket,
                  with_recipe_path(config.path(), [&] { return entry.info(config); }));
  DataSplits splits =
      with_recipe_path(config.path(), [&] { return entry.build(config, batch_sizes); });
  splits.bucket_by_length = bucket;
  return splits;
}

DataInfo dataset_info(const Config& config) {
  const Entry& entry = find_dataset(config);
  const bool bucket = bucket_by_length(config);
  const DataInfo info = with_recipe_path(config.path(), [&] { return entry.info(config); });
  check_bucketing(config, bucket, info);
  return info;
}

std::vector<RegistryEntry> list_datasets() {
  std::vector<RegistryEntry> out;
  for (const Entry& e : entries()) {
    // What build_dataset reads of the "data" section, less "name".
    const std::vector<OptionDoc> docs = Config::describe([&](const Config& c) {
      bucket_by_length(c);
      e.read(c);
    });
    RegistryEntry about = e.about;
    about.options = options_text(with_notes(docs, e.notes));
    out.push_back(about);
  }
  return out;
}

}  // namespace heed
