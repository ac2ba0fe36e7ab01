// The sections' field tables (specfields.h): each key's registry entry beside the struct member
// that holds its value; from them come reading a spec (fromJson), writing it (toJson) and
// checking its ranges (checkRanges). A default is the struct's own default member value, read
// from a default-constructed struct, so it is written only once.

#include "spec/specfields.h"

namespace retort {

namespace specfields {

// The sections' fields. Order: the editor's and the docs' order.

const std::vector<Field<ExperimentSpec>>& topFields() {
    using S = ExperimentSpec;
    static const std::vector<Field<S>> f = {
        field<S>(&S::name,
                 key("name", "Name", "run name; sweep points add their swept values").noSweep()),
        field<S>(&S::task,
                 key("task", "Task",
                     "`classification` (one label per sample) or `language_model` (text data: a "
                     "causal transformer predicts the next token at every position; results carry "
                     "perplexity and next-token accuracy)")
                     .omitDefault()
                     .section("data")),
        field<S>(&S::seed,
                 key("seed", "Seed",
                     "the student's seed: its initialization, the sample order and dropout "
                     "(the data and the teacher have seeds of their own, `data.seed` and "
                     "`teacher.seed`, fixed by default)")
                     .range(0, {})),
        field<S>(&S::device,
                 key("device", "Device",
                     "where to train: `auto` (CUDA when LibTorch sees a GPU), `cpu`, `cuda`, "
                     "`cuda:N`")
                     .section("train")
                     .note("auto, cpu, cuda, cuda:N")),
        field<S>(&S::threads, key("threads", "CPU threads", "intra-op CPU threads")
                                  .range(0, 1024)
                                  .note("0: every core")
                                  .section("train")),
    };
    return f;
}

const std::vector<Field<DataOptions>>& dataFields() {
    using S = DataOptions;
    static const std::vector<Field<S>> f = {
        field<S>(
            &S::format,
            key("format", "Format",
                "`idx` (MNIST-style files), `csv` (train.csv, test.csv), `synthetic` "
                "(seeded class prototypes plus noise), `text` (a TSV, CSV or JSON Lines "
                "file of texts and labels; a language model reads texts alone, and .txt "
                "files of one document per line) or `wordnet` (WordNet 3.0 glosses labelled by "
                "their 45 lexicographer files, a fixed 80/10/10 split)")),
        field<S>(&S::path, key("path", "Data path",
                               "the folder that holds the data files; text: the training file; "
                               "wordnet: the folder of data.noun etc. (/usr/share/wordnet) "
                               "(relative: from the spec file's folder)")
                               .when(".format", {"synthetic"}, true)
                               .labelBy(".format", {{"idx", "Data folder"},
                                                    {"csv", "Data folder"},
                                                    {"text", "Text file"},
                                                    {"wordnet", "WordNet folder"}})),
        field<S>(&S::test_path,
                 key("test_path", "Test file",
                     "text: the test file, read like `path`; empty: a fixed 10 % of `path`, "
                     "chosen by a hash of each text, so duplicates never straddle the split")
                     .omitDefault()
                     .when(".format", {"text"})),
        field<S>(&S::text_column, key("text_column", "Text column",
                                      "text: the column (TSV/CSV header name, JSON key, or "
                                      "0-based index) that holds the text")
                                      .omitDefault()
                                      .when(".format", {"text"})),
        field<S>(&S::label, key("label", "Label column",
                                "text: the column that holds the label (name or index); labels "
                                "may be names or class ids. A language model reads no labels")
                                .omitDefault()
                                .when(".format", {"text"})
                                .shownWhen("task", {"language_model"}, true)),
        field<S>(&S::stream,
                 key("stream", "One stream",
                     "text, language model: the file's lines in order are one stream of tokens "
                     "(each line [CLS] first), cut into windows of max_length; the last tenth of "
                     "the lines are test (unless test_path), the validation_fraction of the rest "
                     "before them validation; limit_* count windows. Off: each line is a sample, "
                     "cut at max_length")
                     .omitDefault()
                     .when(".format", {"text"})
                     .shownWhen("task", {"language_model"})),
        field<S>(&S::validation_fraction,
                 key("validation_fraction", "Validation fraction",
                     "share of the training set held out for validation (model choice); text: "
                     "chosen by a hash of each text; wordnet: fixed at 10 %")
                     .range(0, 1, false, true)
                     .spin(3, 0.05)),
        field<S>(&S::seed, key("seed", "Data seed",
                               "seeds the validation split, limit_train's subset and synthetic "
                               "data; fixed by default, so a sweep over `seed` varies the "
                               "student only (sweep this to vary the data)")
                               .range(0, {})),
        field<S>(&S::limit_train, key("limit_train", "Limit training samples",
                                      "use at most this many training samples, a seeded subset")
                                      .range(0, {})
                                      .note("0: all")),
        field<S>(&S::limit_test,
                 key("limit_test", "Limit test samples",
                     "use only the first N test samples (for quick checks); text: N chosen by a "
                     "hash of their text, the same in every run")
                     .range(0, {})
                     .note("0: all")),
        field<S>(&S::limit_val,
                 key("limit_val", "Limit validation samples",
                     "use only N validation samples, scored after every epoch (quick studies: "
                     "limit_train alone leaves the whole validation split); the split itself "
                     "is unchanged; text: N chosen by a hash of their text, the same in every "
                     "run")
                     .range(0, {})
                     .note("0: all")
                     .omitDefault()),
        field<S>(&S::normalize,
                 key("normalize", "Normalization",
                     "`global` (one mean/std from the training split; auto for idx and "
                     "synthetic), `per_feature` (auto for csv), `none`")
                     .when(".format", {"text", "wordnet"}, true)),
        field<S>(&S::label_column,
                 key("label_column", "Label column", "csv: which column holds the label")
                     .range(0, {})
                     .when(".format", {"csv"})),
        field<S>(&S::header, key("header", "Header line",
                                 "csv: `auto` (a first line that is not all numbers is a "
                                 "header), `yes`, `no`")
                                 .when(".format", {"csv"})),
        field<S>(&S::shape, key("shape", "Sample shape",
                                "csv: reshape each row's features, e.g. [1, 28, 28]; synthetic: "
                                "the sample shape (empty: [1, 8, 8])")
                                .omitDefault()
                                .when(".format", {"csv", "synthetic"})),
        field<S>(&S::classes, key("classes", "Classes",
                                  "synthetic: class count (0: 10); csv: 0 infers max label + 1")
                                  .omitDefault()
                                  .note("0: automatic")
                                  .when(".format", {"csv", "synthetic"})),
        field<S>(&S::train_samples,
                 key("train_samples", "Training samples", "synthetic: training samples")
                     .range(1, 10000000)
                     .when(".format", {"synthetic"})),
        field<S>(&S::test_samples, key("test_samples", "Test samples", "synthetic: test samples")
                                       .range(1, 10000000)
                                       .when(".format", {"synthetic"})),
        field<S>(&S::noise, key("noise", "Noise",
                                "synthetic: standard deviation of the noise around the seeded "
                                "class prototypes")
                                .range(0, {})
                                .spin(2, 0.1)
                                .when(".format", {"synthetic"})),
    };
    return f;
}

const std::vector<Field<ModelOptions>>& modelFields() {
    using S = ModelOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::arch, key("arch", "Architecture",
                               "features: `mlp`, `lenet5` (fixed layers) or `cnn` "
                               "(conv3x3+relu+maxpool2 blocks, then the hidden layers); text: "
                               "`transformer` (pre-norm encoder), `bilstm` (max-pooled over "
                               "time) or `embedding_bag` (mean of token embeddings)")),
        field<S>(&S::channels, key("channels", "Conv channels",
                                   "cnn: output channels of each conv block, e.g. [32, 64]")
                                   .when(".arch", {"cnn"})),
        field<S>(&S::hidden, key("hidden", "Hidden widths",
                                 "mlp, cnn, embedding_bag: widths of the fully connected hidden "
                                 "layers; bilstm: units per direction of each LSTM layer "
                                 "(empty: one layer of `embedding` units)")
                                 .when(".arch", {"lenet5", "transformer"}, true)),
        field<S>(&S::embedding, key("embedding", "Embedding width",
                                    "bilstm, embedding_bag: width of the token embeddings")
                                    .range(1, 65536)
                                    .omitDefault()
                                    .when(".arch", {"bilstm", "embedding_bag"})),
        field<S>(&S::layers, key("layers", "Layers",
                                 "transformer: layers (an encoder's; a language model's "
                                 "decoder's)")
                                 .range(1, 64)
                                 .omitDefault()
                                 .when(".arch", {"transformer"})),
        field<S>(&S::d_model, key("d_model", "Model width",
                                  "transformer: width of the token states (embeddings included)")
                                  .range(1, 65536)
                                  .omitDefault()
                                  .when(".arch", {"transformer"})),
        field<S>(&S::heads, key("heads", "Attention heads",
                                "transformer: attention heads; must divide d_model")
                                .range(1, 256)
                                .omitDefault()
                                .when(".arch", {"transformer"})),
        field<S>(&S::ffn, key("ffn", "Feed-forward width",
                              "transformer: inner width of each layer's feed-forward block")
                              .range(1, 262144)
                              .omitDefault()
                              .when(".arch", {"transformer"})),
        field<S>(&S::layer_heads,
                 key("layer_heads", "Heads per layer",
                     "transformer: heads of each layer, each d_model/heads wide (empty: `heads` "
                     "in every layer); pruning heads writes it")
                     .omitDefault()
                     .when(".arch", {"transformer"})),
        field<S>(&S::layer_ffn, key("layer_ffn", "FFN width per layer",
                                    "transformer: each layer's feed-forward width (empty: `ffn` "
                                    "in every layer); pruning ffn writes it")
                                    .omitDefault()
                                    .when(".arch", {"transformer"})),
        field<S>(&S::dropout, key("dropout", "Dropout",
                                  "transformer, bilstm: dropout probability while training")
                                  .range(0, 1, false, true)
                                  .spin(2, 0.05)
                                  .omitDefault()
                                  .when(".arch", {"transformer", "bilstm"})),
        field<S>(&S::pooling, key("pooling", "Pooling",
                                  "transformer: `mean` of the real tokens' states or the "
                                  "`first` ([CLS]) token's")
                                  .omitDefault()
                                  .when(".arch", {"transformer"})
                                  .shownWhen("task", {"language_model"}, true)),
        field<S>(&S::tie_embeddings,
                 key("tie_embeddings", "Tied output embedding",
                     "transformer language model: the output layer reuses the token table "
                     "(logits = states · tableᵀ + bias; Press & Wolf 2017) instead of a "
                     "vocab × d_model matrix of its own")
                     .omitDefault()
                     .when(".arch", {"transformer"})
                     .when("task", {"language_model"})),
        field<S>(&S::classes, key("classes", "Output classes",
                                  "output classes (0: the data's count); a mismatch is an error")
                                  .range(0, {})
                                  .note("0: the data's count")
                                  .omitDefault()
                                  .noField()),
    };
    return f;
}

const std::vector<Field<TokenizerOptions>>& tokenizerFields() {
    using S = TokenizerOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::type, key("type", "Tokenizer",
                               "SentencePiece model trained on the training split: `unigram` "
                               "(Kudo 2018) or `bpe` (byte-pair encoding)")),
        field<S>(&S::vocab_size, key("vocab_size", "Vocabulary size",
                                     "pieces, the special ones ([PAD], [UNK], [CLS]) included")
                                     .range(16, 1000000)),
        field<S>(&S::max_length, key("max_length", "Max tokens",
                                     "most ids per sample, [CLS] included; longer texts are cut")
                                     .range(2, 8192)),
        field<S>(&S::lowercase, key("lowercase", "Lower-case",
                                    "case-fold the text (NFKC with case folding) before "
                                    "splitting")),
    };
    return f;
}

const std::vector<Field<TeacherOptions>>& teacherFields() {
    using S = TeacherOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::seed, key("seed", "Teacher seed",
                               "zoo teacher: initialization and training seed; fixed by "
                               "default, so one teacher serves every student seed (sweep this "
                               "to vary the teacher)")
                               .range(0, {})
                               .when("teacher", {"zoo"})),
        field<S>(&S::torchscript,
                 key("torchscript", "TorchScript file",
                     "a TorchScript module file taking a batch of samples and returning logits "
                     "(relative: from the spec file's folder)")
                     .when("teacher", {"torchscript"})),
        field<S>(&S::run,
                 key("run", "Run", "a completed run of the project whose model is the teacher")
                     .note("the id of a completed run")
                     .when("teacher", {"run"})),
        field<S>(&S::run_model, key("model", "Run's model",
                                    "which model of that run: its `student` or its zoo `teacher`")
                                    .when("teacher", {"run"})),
        field<S>(&S::pretrained,
                 key("pretrained", "Pretrained model",
                     "zoo teacher: start from this stored pretrained model (its id, `retort-cli "
                     "pretrained` lists them) instead of `pretrain`; same architecture and "
                     "tokenizer")
                     .range(0, {})
                     .note("0: none")
                     .omitDefault()
                     .noSweep()
                     .when("teacher", {"zoo"})),
    };
    return f;
}

const std::vector<Field<TrainOptions>>& trainFields() {
    using S = TrainOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::epochs,
                 key("epochs", "Epochs", "passes over the training set").range(1, 100000)),
        field<S>(&S::batch_size,
                 key("batch_size", "Batch size", "samples per optimizer step").range(1, {})),
        field<S>(&S::optimizer, key("optimizer", "Optimizer", "`adam`, `adamw` or `sgd`")),
        field<S>(&S::lr,
                 key("lr", "Learning rate", "learning rate").range(0, {}, true).spin(6, 0.0001)),
        field<S>(
            &S::momentum,
            key("momentum", "Momentum", "sgd momentum").range(0, 1, false, true).spin(3, 0.05)),
        field<S>(&S::weight_decay,
                 key("weight_decay", "Weight decay", "L2 penalty (decoupled for adamw)")
                     .range(0, {})
                     .spin(6, 0.0001)),
        field<S>(&S::lr_schedule, key("lr_schedule", "LR schedule",
                                      "`constant` or `cosine` (per epoch, to 0 at the end)")),
        field<S>(&S::grad_clip, key("grad_clip", "Gradient clipping",
                                    "clip the total L2 norm of each step's gradients to this "
                                    "value before the optimizer step")
                                    .range(0, {})
                                    .note("0: off")
                                    .omitDefault()  // stored specs (teacher keys) unchanged
                                    .spin(3, 0.5)),
        field<S>(&S::finetune,
                 key("finetune", "Fine-tuning",
                     "what the steps update: `full` (every parameter), `head` (the classifier "
                     "only, the backbone frozen), `lora` (low-rank adapters beside the frozen "
                     "Transformer weights, and the classifier; merged into plain weights after "
                     "training) or `bitfit` (biases and the classifier); not full needs a "
                     "pretrained start")
                     .omitDefault()),
        field<S>(&S::lora_rank, key("lora_rank", "LoRA rank", "lora: rank r of each adapter")
                                    .range(1, 1024)
                                    .when(".finetune", {"lora"})),
        field<S>(&S::lora_alpha,
                 key("lora_alpha", "LoRA alpha", "lora: the adapters' update is scaled by alpha/r")
                     .range(0, {}, true)
                     .spin(1, 1)
                     .when(".finetune", {"lora"})),
        field<S>(&S::lora_dropout,
                 key("lora_dropout", "LoRA dropout", "lora: dropout on the adapters' input")
                     .range(0, 1, false, true)
                     .spin(2, 0.05)
                     .when(".finetune", {"lora"})),
        field<S>(&S::lora_targets,
                 key("lora_targets", "LoRA targets",
                     "lora: which Linear layers get adapters: `attention` (q, k, v, o), `ffn` "
                     "(ff1, ff2) or `all`")
                     .when(".finetune", {"lora"})),
    };
    return f;
}

const std::vector<Field<PretrainOptions>>& pretrainFields() {
    using S = PretrainOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::epochs,
                 key("epochs", "Pretraining epochs", "passes over the pretraining texts")
                     .range(1, 100000)),
        field<S>(&S::batch_size,
                 key("batch_size", "Pretraining batch", "texts per optimizer step").range(1, {})),
        field<S>(&S::lr, key("lr", "Pretraining LR",
                             "AdamW learning rate (weight decay 0.01 on weight matrices and the "
                             "token table, none on biases and norms, as BERT)")
                             .range(0, {}, true)
                             .spin(6, 0.0001)),
        field<S>(&S::mask_fraction,
                 key("mask_fraction", "Masked share",
                     "masked LM: share of each text's real tokens that are predicted ([CLS] "
                     "never): 80 % of them read [MASK], 10 % a random piece, 10 % stay (BERT); "
                     "a language model's decoder predicts every next token instead")
                     .range(0, 1, true, true)
                     .spin(2, 0.05)
                     .shownWhen("task", {"language_model"}, true)),
        field<S>(&S::grad_clip, key("grad_clip", "Pretraining clip",
                                    "clip each step's total gradient L2 norm to this value")
                                    .range(0, {})
                                    .note("0: off")
                                    .spin(2, 0.5)),
        field<S>(&S::warmup, key("warmup", "Pretraining warm-up",
                                 "share of the pretraining steps over which the learning rate "
                                 "rises linearly from 0 to lr (BERT: 0.01 of its steps)")
                                 .range(0, 1, false, true)
                                 .spin(2, 0.01)
                                 .omitDefault()),
        field<S>(&S::path, key("path", "Pretraining text file",
                               "a UTF-8 text file, one document per line, tokenized with the "
                               "data's tokenizer (relative: from the spec file's folder); "
                               "empty: the training split's texts")
                               .omitDefault()),
    };
    return f;
}

const std::vector<Field<DistillOptions>>& distillFields() {
    using S = DistillOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::loss, key("loss", "Loss",
                               "`hinton`: λ · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − λ) · "
                               "CE(s, y)")
                               .noField()),
        field<S>(&S::temperature,
                 key("temperature", "Temperature", "softmax temperature T of the soft loss")
                     .range(0, {}, true)
                     .spin(2, 0.5)
                     .when("teacher", {"none"}, true)),
        field<S>(&S::lambda, key("lambda", "Lambda (soft weight)",
                                 "weight λ of the soft loss; 0: labels only (the default without "
                                 "a teacher, and the only value allowed then)")
                                 .range(0, 1)
                                 .spin(2, 0.05)),
        field<S>(&S::divergence,
                 key("divergence", "Divergence",
                     "language_model: `forward_kl` KL(teacher ‖ student), `reverse_kl` "
                     "KL(student ‖ teacher) (MiniLLM) or `jsd` (Jensen-Shannon, GKD's β = 0.5), "
                     "between next-token distributions at temperature T, times T²")
                     .omitDefault()
                     .when("task", {"language_model"})),
        field<S>(&S::top_k,
                 key("top_k", "Teacher top-k",
                     "language_model: the teacher's k most likely next tokens kept per position; "
                     "the rest of its vocabulary is one bucket with their summed probability "
                     "(both distributions are compared over those k + 1 outcomes)")
                     .range(1, 65536)
                     .omitDefault()
                     .when("task", {"language_model"})),
    };
    return f;
}

const std::vector<Field<FeatureOptions>>& featureFields() {
    using S = FeatureOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::hidden, key("hidden", "Hidden-state weight",
                                 "weight of the MSE between each student layer's states, "
                                 "projected to the teacher's width, and its teacher layer's")
                                 .range(0, {})
                                 .spin(2, 0.1)),
        field<S>(&S::attention, key("attention", "Attention weight",
                                    "weight of the KL divergence between the teacher layer's "
                                    "and the student layer's attention maps (same heads)")
                                    .range(0, {})
                                    .spin(2, 0.1)),
        field<S>(&S::layer_map, key("layer_map", "Layer map",
                                    "`uniform`: student layer i of S learns from teacher layer "
                                    "round(i·T/S) of T")
                                    .noField()),
    };
    return f;
}

const std::vector<Field<ExperimentSpec>>& studentFields() {
    using S = ExperimentSpec;
    static const std::vector<Field<S>> f = {
        field<S>(&S::student_init,
                 key("init", "Initialization",
                     "`random`, or `teacher_layers`: a transformer student of the teacher's "
                     "width starts from the teacher's embeddings, head and every k-th layer "
                     "(DistilBERT)")
                     .omitDefault()
                     .when("student.arch", {"transformer"})),
        field<S>(&S::student_pretrained,
                 key("pretrained", "Pretrained model",
                     "start the student from this stored pretrained model (its id) instead of "
                     "`student.pretrain`; same architecture and tokenizer")
                     .range(0, {})
                     .note("0: none")
                     .omitDefault()
                     .noSweep()
                     .when("student.arch", {"transformer", "bilstm"})),
    };
    return f;
}

const std::vector<Field<PruneOptions>>& pruneFields() {
    using S = PruneOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::structure,
                 key("structure", "Structure",
                     "`unstructured` (single weights), `neurons` (whole hidden units of fully "
                     "connected layers; a bilstm's LSTM units), `channels` (whole output "
                     "channels of convolutions), `heads` (a transformer's attention heads) or "
                     "`ffn` (its feed-forward neurons): the model is rebuilt smaller at the "
                     "end; `n:m` (n of every m consecutive inputs kept, 2:4 by default)")
                     .omitDefault()),
        field<S>(&S::method,
                 key("method", "Method",
                     "`magnitude` (smallest |w|, or a unit's weight norm), `wanda` (|w|·‖x‖ per "
                     "output row, from calibration activations), `sparsegpt` (layer-wise OBS "
                     "reconstruction from calibration activations), `taylor` (units: first-order "
                     "loss change (Σ w·∂L/∂w)² on calibration samples)")),
        field<S>(&S::scope, key("scope", "Scope",
                                "`global` (one ranking over every prunable weight or unit) or "
                                "`layer` (each layer to the sparsity); wanda and sparsegpt always "
                                "prune each layer to the sparsity")),
        field<S>(&S::sparsity, key("sparsity", "Sparsity",
                                   "final fraction of zero weights (structured: of hidden units "
                                   "or channels removed)")
                                   .range(0, 1, false, true)
                                   .spin(3, 0.05)
                                   .when(".structure", {"n:m"}, true)),
        field<S>(&S::schedule, key("schedule", "Schedule",
                                   "`agp` (gradual, cubic; wanda and sparsegpt recalibrate at "
                                   "every mask update) or `one_shot` (at begin_epoch); n:m "
                                   "prunes once")),
        field<S>(&S::begin_epoch,
                 key("begin_epoch", "Begin epoch",
                     "first epoch (1-based) that prunes; one_shot: train.epochs + 1 prunes the "
                     "trained model with no fine-tuning after")
                     .note("1 to train.epochs")),
        field<S>(&S::end_epoch, key("end_epoch", "End epoch",
                                    "last epoch of the AGP ramp; later epochs fine-tune at the "
                                    "final sparsity")
                                    .note("0: ⌈0.6 × train.epochs⌉")),
        field<S>(&S::updates_per_epoch, key("updates_per_epoch", "Mask updates per epoch",
                                            "agp: how often per epoch the masks are recomputed")
                                            .range(1, {})),
        field<S>(&S::n, key("n", "N (kept)", "n:m: weights kept in every group of m")
                            .range(1, 16)
                            .omitDefault()
                            .when(".structure", {"n:m"})),
        field<S>(&S::m, key("m", "M (group)", "n:m: consecutive inputs of a row per group")
                            .range(2, 16)
                            .omitDefault()
                            .when(".structure", {"n:m"})),
        field<S>(&S::calibration_samples,
                 key("calibration_samples", "Calibration samples",
                     "wanda, sparsegpt, taylor: training samples (a fixed seeded subset) whose "
                     "activations or gradients rank the weights")
                     .range(1, {})
                     .omitDefault()
                     .when(".method", {"wanda", "sparsegpt", "taylor"})),
        field<S>(&S::per_layer,
                 key("per_layer", "Per layer",
                     "{\"layer\": sparsity}: a layer's own final sparsity (of its weights, or "
                     "of its units when structured), ramped by the same schedule; layers not "
                     "named follow `sparsity` and `scope` (a sensitivity table's cells write it)")
                     .range(0, 1, false, true)
                     .noSweep()
                     .omitDefault()
                     .note("{}: every layer by sparsity")),
    };
    return f;
}

const std::vector<Field<QuantizeOptions>>& quantizeFields() {
    using S = QuantizeOptions;
    static const std::vector<Field<S>> f = {
        field<S>(&S::mode, key("mode", "Mode",
                               "`ptq` (round to nearest after training), `qat` (the last "
                               "qat_epochs train through fake quantization with a "
                               "straight-through gradient), `gptq` (column by column with "
                               "error compensation from calibration activations)")
                               .omitDefault()),
        field<S>(&S::bits, key("bits", "Bits", "weight bit width after training (biases stay fp32)")
                               .choices({4, 8})
                               .noField()),
        field<S>(&S::granularity,
                 key("granularity", "Granularity",
                     "`per_channel` (one scale per output channel) or `per_tensor`")),
        field<S>(&S::group_size,
                 key("group_size", "Group size",
                     "one scale per this many consecutive inputs of each output channel (the "
                     "scales count in the compressed size)")
                     .range(0, {})
                     .omitDefault()
                     .note("0: per channel or tensor")),
        field<S>(&S::qat_epochs, key("qat_epochs", "QAT epochs",
                                     "qat: how many of the last training epochs see the "
                                     "quantized weights")
                                     .range(1, {})
                                     .omitDefault()
                                     .when(".mode", {"qat"})),
        field<S>(&S::calibration_samples,
                 key("calibration_samples", "Calibration samples",
                     "gptq: training samples (a fixed seeded subset) whose activations weigh "
                     "the rounding errors")
                     .range(1, {})
                     .omitDefault()
                     .when(".mode", {"gptq"})),
        field<S>(&S::per_layer,
                 key("per_layer", "Bits per layer",
                     "{\"layer\": bits}: mixed precision, 8 or 4 per layer, 32 to keep a layer "
                     "fp32; layers not named take `bits`")
                     .choices({4, 8, 32})
                     .noSweep()
                     .omitDefault()
                     .note("{}: every layer by bits")),
    };
    return f;
}

}  // namespace specfields

}  // namespace retort
