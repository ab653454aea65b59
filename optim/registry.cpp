// The optimizer registry: every optimizer a recipe can name under "optimizer.name", one explicit
// list. Keys are PyTorch's argument names (lr, momentum, betas, eps, weight_decay, ...).

#include "framework/registry.h"
#include "optim/adam.h"
#include "optim/sgd.h"

namespace heed {

namespace {

// PyTorch's betas=(beta1, beta2): a JSON array of two numbers.
std::pair<double, double> betas(const Config& c, std::pair<double, double> fallback) {
  if (!c.has("betas")) return fallback;
  const nlohmann::json& v = c.json().at("betas");
  HEED_CHECK(v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number(), "recipe: \"",
             c.path_of("betas"), "\" must be an array of two numbers, got ", v.dump());
  return {v[0].get<double>(), v[1].get<double>()};
}

std::unique_ptr<optim::Optimizer> sgd(const Config& c, const StateDict& params) {
  optim::SGDOptions o;
  o.lr = c.require<double>("lr");
  o.momentum = c.get<double>("momentum", o.momentum);
  o.dampening = c.get<double>("dampening", o.dampening);
  o.weight_decay = c.get<double>("weight_decay", o.weight_decay);
  o.nesterov = c.get<bool>("nesterov", o.nesterov);
  c.finish();
  return std::make_unique<optim::SGD>(params, o);
}

std::unique_ptr<optim::Optimizer> adam(const Config& c, const StateDict& params) {
  optim::AdamOptions o;
  o.lr = c.get<double>("lr", o.lr);
  std::tie(o.beta1, o.beta2) = betas(c, {o.beta1, o.beta2});
  o.eps = c.get<double>("eps", o.eps);
  o.weight_decay = c.get<double>("weight_decay", o.weight_decay);
  o.amsgrad = c.get<bool>("amsgrad", o.amsgrad);
  c.finish();
  return std::make_unique<optim::Adam>(params, o);
}

struct Entry {
  RegistryEntry about;
  std::unique_ptr<optim::Optimizer> (*build)(const Config&, const StateDict&);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"optimizer", "sgd",
        "SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD)",
        "lr (required), momentum (0), dampening (0), weight_decay (0), nesterov (false)"},
       sgd},
      {{"optimizer", "adam", "Adam (Kingma & Ba 2015), optionally AMSGrad (torch.optim.Adam)",
        "lr (0.001), betas ([0.9, 0.999]), eps (1e-8), weight_decay (0), amsgrad (false)"},
       adam},
  };
  return list;
}

}  // namespace

std::unique_ptr<optim::Optimizer> build_optimizer(const Config& config, const StateDict& params) {
  const std::string name = config.require<std::string>("name");
  const Entry& entry = find_entry(entries(), name, "optimizer", config.path_of("name"));
  try {
    return entry.build(config, params);
  } catch (const Error& err) {
    const std::string what = err.what();
    // Hyper-parameter checks in the constructors don't know the recipe path; add it.
    if (what.rfind("recipe", 0) == 0) throw;
    throw Error("recipe: \"" + config.path() + "\": " + what);
  }
}

std::vector<RegistryEntry> list_optimizers() {
  return abouts(entries());
}

}  // namespace heed
