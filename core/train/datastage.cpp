#include "train/stages.h"

namespace retort::pipeline {

void DataStage::run(RunContext& ctx, StageServices& services) {
    services.message(ctx.runId, "data",
                     "loading " + std::string(choiceName(ctx.spec.data.format)) + " data");
    ctx.data = std::make_shared<const Dataset>(services.dataset(ctx.spec).to(ctx.device));
    for (const auto& w : ctx.data->warnings) services.message(ctx.runId, "data", "warning: " + w);
}

}  // namespace retort::pipeline
