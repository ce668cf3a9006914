#include "fetch/asset_catalog.h"

namespace tinyq::fetch {

// Checksums of the published files (their md5s match the ones MLPerf Tiny and
// the CIFAR-10 page publish; see docs/ASSETS.md). The CIFAR-10 archive itself is
// not pinned: each member taken from it is.
const std::vector<Asset>& asset_catalog() {
  static const std::vector<Asset> catalog = {
      {"models/pretrainedResnet.h5", "benchmark/training/image_classification/trained_models/pretrainedResnet.h5", false,
       "5f938a8eea605438cc7360aa13c987bc6d7bd0c8d931b2917361ae7ae4eeda2f", 1116712, true},
      {"models/pretrainedResnet.tflite", "benchmark/training/image_classification/trained_models/pretrainedResnet.tflite",
       false, "b5c0046d6e0328b4956afd6baa29555a29b1f1c65bdd45aaed75b7cd484d9f79", 318144, true},
      {"models/pretrainedResnet_quant.tflite",
       "benchmark/training/image_classification/trained_models/pretrainedResnet_quant.tflite", false,
       "3c002613d1b2475eb51dd78dfb85a546c8ae658dee71cf6ade43b022fe205415", 98496, true},
      {"models/perf_samples_idxs.npy", "benchmark/training/image_classification/perf_samples_idxs.npy", false,
       "3bd4a88eeb4c50fad652d0f24c8af13bc9219ba2878aea47c6536bfbeb43024d", 1728, true},
      {"models/ic01_y_labels.csv", "benchmark/evaluation/datasets/ic01/y_labels.csv", false,
       "79e1f19ad731f046983a1a4480bda6369df26c5acee47505a860f164fb58ccd4", 5709, true},
      // Kept from MLPerf Tiny v0.1; tinyq only needs it for --calib-indices.
      {"models/calibration_samples_idxs.npy", "v0.1/training/image_classification/calibration_samples_idxs.npy", false,
       "c619b84e9ea72c8d7a9208b6c38af541594ea002c0e19731d1af47397b96ce97", 4128, false},
      {"data/cifar-10-batches-bin/test_batch.bin", "cifar-10-batches-bin/test_batch.bin", true,
       "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b", 30730000, true},
      {"data/cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_1.bin", true,
       "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5", 30730000, true},
  };
  return catalog;
}

}  // namespace tinyq::fetch
