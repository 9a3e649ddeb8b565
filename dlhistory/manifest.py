"""The curriculum manifest: its 31 topics (folder, slug, title, the datasets each uses, what
its full scale needs) and its 45 papers (title, authors, year, venue, link, file name).

`python -m dlhistory papers` downloads the PDFs (dlhistory.download.fetch_papers); they are
not committed: not ours to redistribute.
"""
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dlhistory import ROOT


@dataclass(frozen=True)
class Topic:
    folder: str   # part/topic, e.g. 01-deep-neural-networks/01-dnn
    slug: str     # unique short name: the notebook, the helper module, the CLI
    title: str
    # the one of the seven constraints (CONSTRAINTS) that the topic's paper moved most
    constraint: str
    # the dlhistory.data loaders it calls (`python -m dlhistory data` fetches them ahead of time)
    datasets: tuple = ()
    # what `full` scale downloads and needs, said before a full run that was never recorded
    full: str = "not planned yet"
    # True once the topic's tests and notebook have passed on Apple's MPS (dlhistory.device)
    mps: bool = False

    @property
    def path(self):
        return ROOT / self.folder

    @property
    def notebook(self):
        return self.path / f"{self.slug}.ipynb"

    @property
    def module(self):
        return self.path / f"{self.slug}.py"

    @property
    def built(self):
        """Topics are added issue by issue; one is built once its notebook exists."""
        return self.notebook.exists()

    @property
    def papers(self):
        return [p for p in PAPERS if p.slug == self.slug]


# What has bounded how well a network can model its data, in the README essay's order.
CONSTRAINTS = ("data", "parameters", "optimization and regularization", "architecture", "compute",
               "compute efficiency", "energy")

_STOPWORDS = {"a", "an", "the", "of", "for", "to", "and", "in", "on", "with", "by", "from"}


@dataclass(frozen=True)
class Paper:
    slug: str
    title: str
    authors: str
    year: int
    venue: str
    url: str      # the PDF

    @property
    def abstract(self):
        """The arXiv abstract page where there is one, else the PDF itself."""
        return self.url.replace("arxiv.org/pdf/", "arxiv.org/abs/")

    @property
    def surname(self):
        """The first author's surname: 'Y. LeCun et al.' -> 'LeCun'."""
        return self.authors.split(",")[0].replace(" et al.", "").split()[-1]

    @property
    def filename(self):
        """surname + year + the title's first three words: rumelhart1986-learning-internal-representations.pdf"""
        words = [w for w in re.findall(r"[a-z0-9]+", self.title.lower()) if w not in _STOPWORDS]
        return f"{self.surname.lower()}{self.year}-{'-'.join(words[:3])}.pdf"



TOPICS = [
    Topic('01-deep-neural-networks/01-dnn', 'dnn', 'Backpropagation', constraint='parameters',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); a 784-800-10 MLP needs under 1 GB of GPU memory and about 5 minutes on one GPU (an estimate: not yet measured)"),
    Topic('01-deep-neural-networks/02-cnn', 'cnn', 'Convolutional networks (LeNet)', constraint='architecture',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); LeNet-5 needs under 1 GB of GPU memory and about 10 minutes on one GPU (an estimate: not yet measured)"),
    Topic('01-deep-neural-networks/03-alex-net', 'alexnet', 'AlexNet', constraint='compute',
          datasets=('mnist', 'cifar10'),
          full="downloads CIFAR-10 through torchvision (163 MB); the nets need about 2 GB of GPU memory and about 30 minutes on one GPU (an estimate: not yet measured)"),
    Topic('01-deep-neural-networks/04-u-net', 'unet', 'U-Net', constraint='architecture',
          datasets=('oxford_pets',),
          full="downloads Oxford-IIIT Pet through torchvision (about 800 MB); the U-Net at 128x128 needs about 6 GB of GPU memory and about 30 minutes on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/01-weight-decay', 'weight_decay', 'Weight decay', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); the linear experiments need about 2 GB of CPU memory, the 14 MLP runs under 1 GB of GPU memory and about 10-15 minutes on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/02-relu', 'relu', 'Rectified linear units', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 13 runs of a 784-1000x3-10 net for 50 epochs and three 10x128 nets need under 1 GB of GPU memory and about 5-10 minutes on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/03-residuals', 'resnet', 'Residual networks', constraint='optimization and regularization',
          datasets=('mnist', 'cifar10'),
          full="downloads CIFAR-10 through torchvision (about 170 MB); 5 nets (plain and residual, 20 and 56 layers, and ResNet-56 with option B) at width 16 for 64k iterations of batch 128 with crops and flips need under 2 GB of GPU memory and about 1-1.5 hours on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/04-dropout', 'dropout', 'Dropout', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 6 runs of a 784-1024x3-10 net for 50 epochs and 6 of 10 epochs need under 2 GB of GPU memory and about 10-15 minutes on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/05-batch-norm', 'batchnorm', 'Batch normalization', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 14 runs of a 3x100 sigmoid MLP with batch 60 need under 1 GB of memory and about 40-60 minutes on CPU or GPU, bound by per-step overhead (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/06-layer-norm', 'layernorm', 'Layer normalization', constraint='optimization and regularization',
          datasets=('tiny_shakespeare', 'mnist'),
          full="uses tiny Shakespeare (1.1 MB) and downloads MNIST's 60,000 training images through torchvision (about 10 MB); 12 language-model runs (512 units, 5,000 steps of 64 x 100 characters; the LN-LSTM is a Python loop over time) and 14 MNIST runs at batch sizes 1-128 need under 2 GB of GPU memory and about 45-90 minutes on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/07-gelu', 'gelu', 'GELU', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 30 runs of an 8x128 MLP for 50 epochs need under 1 GB of GPU memory and about 20-40 minutes on one GPU (an estimate: not yet measured)"),
    Topic('02-optimization-and-regularization/08-adam', 'adam', 'Adam', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 20 logistic-regression runs, 12 runs of a 784-1000-1000-10 dropout MLP and 60 small ablation runs need under 2 GB of GPU memory and about 30-60 minutes on one GPU (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/01-rnn', 'rnn', 'Recurrent networks (RTRL)', constraint='architecture',
          datasets=('tiny_shakespeare',),
          full="uses tiny Shakespeare, the same 1.1 MB file as small; a 512-unit character RNN for 10,000 steps needs under 2 GB of GPU memory and about 10 minutes on one GPU, and the RTRL runs (8 seeds, 30,000 steps) 3-5 minutes on the CPU (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/02-lstm', 'lstm', 'LSTM', constraint='architecture',
          full="generates the adding problem (no download); an nn.LSTM and an nn.RNN of 64 units at T = 200 for 20,000 steps of batch 64 need under 1 GB of GPU memory and about 10-20 minutes on one GPU (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/03-learning-to-forget', 'forget_gate', 'Learning to forget', constraint='architecture',
          full="generates the continual embedded Reber grammar (no download); 20,000 windows per net and a test stream of a million symbols run a Python loop over time steps, CPU-bound even with a GPU: under 1 GB of memory and about 30-60 minutes (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/04-word2vec', 'word2vec', 'word2vec', constraint='data',
          datasets=('multi30k', 'analogies'),
          full="downloads text8 through Hugging Face datasets (afmck/text8, about 50 MB; this path has never been run); skip-gram and CBOW on it need under 2 GB of GPU memory and about 10-20 minutes on one GPU, or about an hour on a CPU (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/05-seq2seq', 'seq2seq', 'Sequence to sequence', constraint='architecture',
          datasets=('multi30k',),
          full="uses Multi30k, the same files as small (no other download); GRUs of 1,024 units trained for 4,000 steps need under 2 GB of GPU memory and about 10-15 minutes on one GPU (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/06-attention', 'attention', 'Attention (Bahdanau)', constraint='architecture',
          datasets=('multi30k',),
          full="uses Multi30k, the same files as small (no other download); GRUs of 1,024 units trained for 4,000 steps need under 2 GB of GPU memory and about 10-15 minutes on one GPU (an estimate: not yet measured)"),
    Topic('03-sequence-modeling/07-mixture-of-experts', 'moe', 'Mixture of experts', constraint='parameters',
          datasets=('tiny_shakespeare',),
          full="uses tiny Shakespeare, the same 1.1 MB file as small; 4 models of 6 blocks, d 256, context 256, batch 64, 20,000 steps each need under 4 GB of GPU memory and about 1 hour on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/01-transformer', 'transformer', 'The Transformer', constraint='architecture',
          datasets=('multi30k',),
          full="uses Multi30k, the same files as small (no other download); d_model 512, h 8, N 6 for 30,000 steps of 128 pairs with warm-up 4,000, then beam 4, need about 4 GB of GPU memory and 30-45 minutes on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/02-bert', 'bert', 'BERT and RoBERTa', constraint='data',
          datasets=('rt_polarity', 'multi30k', 'tiny_shakespeare'),
          full="uses rt-polarity, Multi30k and tiny Shakespeare, the same files as small (SST-2 through Hugging Face datasets is not wired in yet); a 4-layer, H 256 encoder for 20,000 real-text steps and the generated-language runs need about 2 GB of GPU memory and 30-45 minutes on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/03-t5', 't5', 'T5', constraint='data',
          full="generates its text-to-text suite (no download); 20,000 pre-training steps, 5 seeds x 4 label counts of 2,000 fine-tuning steps and 20,000 multi-task steps of a 177k-parameter T5 need under 1 GB of GPU memory and about 20-40 minutes on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/04-gpt', 'gpt', 'GPT-2 and GPT-3', constraint='parameters',
          datasets=('tiny_shakespeare',),
          full="uses tiny Shakespeare, the same 1.1 MB file as small; a 6 x 384 character GPT for 5,000 steps of 64 x 256 and 5 scaling sizes for 2,000 steps each need under 4 GB of GPU memory and about 20-30 minutes on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/05-lora', 'lora', 'LoRA', constraint='compute efficiency',
          datasets=('tiny_shakespeare', 'multi30k'),
          full="uses tiny Shakespeare and Multi30k, the same files as small; a 6 x 384 character GPT pretrained for 5,000 steps of 64 x 128, then 9 adaptation runs of 1,000 steps of 32 x 128, need under 4 GB of GPU memory and about 15 minutes on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/06-rlhf', 'rlhf', 'RLHF', constraint='data',
          datasets=('tiny_shakespeare',),
          full="uses tiny Shakespeare, the same 1.1 MB file as small; a 4-layer d-128 character GPT (3,000 SFT steps), a reward model on 10,000 pairs and 3 PPO runs of 300 iterations of 128 rollouts need under 1 GB of GPU memory and about 15 minutes on one GPU (an estimate: not yet measured)"),
    Topic('04-transformers/07-vision-transformer', 'vit', 'Vision Transformer', constraint='data',
          datasets=('mnist', 'cifar10'),
          full="downloads MNIST's 60,000 training images and CIFAR-10 through torchvision (about 180 MB); 5 MNIST runs (ViT D 128, 6 layers, 30 epochs, and LeNet-5) and a ViT with patch 4 (D 256, 8 layers, about 4.3M parameters) for 200 epochs on CIFAR-10 need under 4 GB of GPU memory and about 20-30 minutes on one GPU (an estimate: not yet measured)"),
    Topic('05-image-generation/01-gan', 'gan', 'GAN', constraint='architecture',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 30,000 GAN iterations and a LeNet-5 judge trained for 4 epochs need under 1 GB of GPU memory and about 5 minutes on one GPU (an estimate: not yet measured)"),
    Topic('05-image-generation/02-vae', 'vae', 'VAE and VQ-VAE', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); 4 VAEs for 100 epochs, the importance-weighted NLL (k = 500) on 10,000 test images and 2 VQ-VAEs for 10,000 steps need under 1 GB of GPU memory and about 10 minutes on one GPU (an estimate: not yet measured)"),
    Topic('05-image-generation/03-diffusion', 'diffusion', 'Diffusion', constraint='optimization and regularization',
          datasets=('mnist',),
          full="downloads MNIST's 60,000 training images through torchvision (about 10 MB); the 16x16 U-Net needs about 1 GB of GPU memory and a few minutes per thousand steps; meeting the bars needs several thousand steps per model, about 15-30 minutes on one GPU (an estimate: not yet measured)"),
    Topic('05-image-generation/04-clip', 'clip', 'CLIP', constraint='data',
          datasets=('mnist',),
          full="generates its shapes (no download) and downloads MNIST's 60,000 training images through torchvision (about 10 MB); 3 x 5,000 CLIP steps of batch 512 on 100,000 generated shapes and 3,000 on MNIST need under 2 GB of GPU memory and about 10 minutes on one GPU (an estimate: not yet measured)"),
    Topic('05-image-generation/05-dall-e', 'dalle', 'DALL-E and DALL-E 2', constraint='architecture',
          full="generates its shapes (no download); the dVAE, the text-then-image transformer, the judge, CLIP and the prior at larger sizes need under 2 GB of GPU memory and about 15-20 minutes on one GPU (an estimate: not yet measured)"),
]

PAPERS = [
    Paper('dnn', 'Learning Internal Representations by Error Propagation',
          'D. E. Rumelhart, G. E. Hinton, R. J. Williams', 1986, 'Parallel Distributed Processing, vol. 1, ch. 8',
          'https://stanford.edu/~jlmcc/papers/PDP/Volume%201/Chap8_PDP86.pdf'),
    Paper('cnn', 'Backpropagation Applied to Handwritten Zip Code Recognition',
          'Y. LeCun et al.', 1989, 'Neural Computation',
          'http://yann.lecun.com/exdb/publis/pdf/lecun-89e.pdf'),
    Paper('cnn', 'Gradient-Based Learning Applied to Document Recognition',
          'Y. LeCun, L. Bottou, Y. Bengio, P. Haffner', 1998, 'Proceedings of the IEEE',
          'http://vision.stanford.edu/cs598_spring07/papers/Lecun98.pdf'),
    Paper('alexnet', 'ImageNet Classification with Deep Convolutional Neural Networks',
          'A. Krizhevsky, I. Sutskever, G. E. Hinton', 2012, 'NeurIPS',
          'https://papers.nips.cc/paper_files/paper/2012/file/c399862d3b9d6b76c8436e924a68c45b-Paper.pdf'),
    Paper('unet', 'U-Net: Convolutional Networks for Biomedical Image Segmentation',
          'O. Ronneberger, P. Fischer, T. Brox', 2015, 'MICCAI',
          'https://arxiv.org/pdf/1505.04597'),
    Paper('weight_decay', 'A Simple Weight Decay Can Improve Generalization',
          'A. Krogh, J. A. Hertz', 1991, 'NeurIPS',
          'https://proceedings.neurips.cc/paper/1991/file/8eefcfdf5990e441f0fb6f3fad709e21-Paper.pdf'),
    Paper('relu', 'Deep Sparse Rectifier Neural Networks',
          'X. Glorot, A. Bordes, Y. Bengio', 2011, 'AISTATS',
          'https://proceedings.mlr.press/v15/glorot11a/glorot11a.pdf'),
    Paper('resnet', 'Deep Residual Learning for Image Recognition',
          'K. He, X. Zhang, S. Ren, J. Sun', 2015, 'CVPR 2016',
          'https://arxiv.org/pdf/1512.03385'),
    Paper('dropout', 'Dropout: A Simple Way to Prevent Neural Networks from Overfitting',
          'N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov', 2014, 'JMLR',
          'https://www.cs.toronto.edu/~rsalakhu/papers/srivastava14a.pdf'),
    Paper('batchnorm', 'Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift',
          'S. Ioffe, C. Szegedy', 2015, 'ICML',
          'https://arxiv.org/pdf/1502.03167'),
    Paper('layernorm', 'Layer Normalization',
          'J. L. Ba, J. R. Kiros, G. E. Hinton', 2016, 'arXiv',
          'https://arxiv.org/pdf/1607.06450'),
    Paper('gelu', 'Gaussian Error Linear Units (GELUs)',
          'D. Hendrycks, K. Gimpel', 2016, 'arXiv',
          'https://arxiv.org/pdf/1606.08415'),
    Paper('adam', 'Adam: A Method for Stochastic Optimization',
          'D. P. Kingma, J. Ba', 2014, 'ICLR 2015',
          'https://arxiv.org/pdf/1412.6980'),
    Paper('rnn', 'A Learning Algorithm for Continually Running Fully Recurrent Neural Networks',
          'R. J. Williams, D. Zipser', 1989, 'Neural Computation',
          'https://gwern.net/doc/ai/nn/rnn/1989-williams-2.pdf'),
    Paper('lstm', 'Long Short-Term Memory',
          'S. Hochreiter, J. Schmidhuber', 1997, 'Neural Computation',
          'https://www.bioinf.jku.at/publications/older/2604.pdf'),
    Paper('forget_gate', 'Learning to Forget: Continual Prediction with LSTM',
          'F. A. Gers, J. Schmidhuber, F. Cummins', 2000, 'Neural Computation',
          'https://citeseerx.ist.psu.edu/document?repid=rep1&type=pdf&doi=e10f98b86797ebf6c8caea6f54cacbc5a50e8b34'),
    Paper('word2vec', 'Efficient Estimation of Word Representations in Vector Space',
          'T. Mikolov, K. Chen, G. Corrado, J. Dean', 2013, 'ICLR workshop',
          'https://arxiv.org/pdf/1301.3781'),
    Paper('word2vec', 'Distributed Representations of Words and Phrases and their Compositionality',
          'T. Mikolov, I. Sutskever, K. Chen, G. Corrado, J. Dean', 2013, 'NeurIPS',
          'https://arxiv.org/pdf/1310.4546'),
    Paper('seq2seq', 'Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation',
          'K. Cho et al.', 2014, 'EMNLP',
          'https://arxiv.org/pdf/1406.1078'),
    Paper('seq2seq', 'Sequence to Sequence Learning with Neural Networks',
          'I. Sutskever, O. Vinyals, Q. V. Le', 2014, 'NeurIPS',
          'https://arxiv.org/pdf/1409.3215'),
    Paper('attention', 'Neural Machine Translation by Jointly Learning to Align and Translate',
          'D. Bahdanau, K. Cho, Y. Bengio', 2014, 'ICLR 2015',
          'https://arxiv.org/pdf/1409.0473'),
    Paper('moe', 'Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer',
          'N. Shazeer et al.', 2017, 'ICLR',
          'https://arxiv.org/pdf/1701.06538'),
    Paper('transformer', 'Attention Is All You Need',
          'A. Vaswani et al.', 2017, 'NeurIPS',
          'https://arxiv.org/pdf/1706.03762'),
    Paper('bert', 'BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding',
          'J. Devlin, M.-W. Chang, K. Lee, K. Toutanova', 2018, 'NAACL 2019',
          'https://arxiv.org/pdf/1810.04805'),
    Paper('bert', 'RoBERTa: A Robustly Optimized BERT Pretraining Approach',
          'Y. Liu et al.', 2019, 'arXiv',
          'https://arxiv.org/pdf/1907.11692'),
    Paper('t5', 'Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer',
          'C. Raffel et al.', 2019, 'JMLR 2020',
          'https://arxiv.org/pdf/1910.10683'),
    Paper('gpt', 'Language Models are Unsupervised Multitask Learners',
          'A. Radford et al.', 2019, 'OpenAI report',
          'https://d4mucfpksywv.cloudfront.net/better-language-models/language_models_are_unsupervised_multitask_learners.pdf'),
    Paper('gpt', 'Language Models are Few-Shot Learners',
          'T. B. Brown et al.', 2020, 'NeurIPS',
          'https://arxiv.org/pdf/2005.14165'),
    Paper('lora', 'LoRA: Low-Rank Adaptation of Large Language Models',
          'E. J. Hu et al.', 2021, 'ICLR 2022',
          'https://arxiv.org/pdf/2106.09685'),
    Paper('rlhf', 'Fine-Tuning Language Models from Human Preferences',
          'D. M. Ziegler et al.', 2019, 'arXiv',
          'https://arxiv.org/pdf/1909.08593'),
    Paper('rlhf', 'Proximal Policy Optimization Algorithms',
          'J. Schulman et al.', 2017, 'arXiv',
          'https://arxiv.org/pdf/1707.06347'),
    Paper('rlhf', 'Training Language Models to Follow Instructions with Human Feedback',
          'L. Ouyang et al.', 2022, 'NeurIPS',
          'https://arxiv.org/pdf/2203.02155'),
    Paper('rlhf', 'Training a Helpful and Harmless Assistant with Reinforcement Learning from Human Feedback',
          'Y. Bai et al.', 2022, 'arXiv',
          'https://arxiv.org/pdf/2204.05862'),
    Paper('vit', 'An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale',
          'A. Dosovitskiy et al.', 2020, 'ICLR 2021',
          'https://arxiv.org/pdf/2010.11929'),
    Paper('gan', 'Generative Adversarial Networks',
          'I. J. Goodfellow et al.', 2014, 'NeurIPS',
          'https://arxiv.org/pdf/1406.2661'),
    Paper('vae', 'Auto-Encoding Variational Bayes',
          'D. P. Kingma, M. Welling', 2013, 'ICLR 2014',
          'https://arxiv.org/pdf/1312.6114'),
    Paper('vae', 'Neural Discrete Representation Learning',
          'A. van den Oord, O. Vinyals, K. Kavukcuoglu', 2017, 'NeurIPS',
          'https://arxiv.org/pdf/1711.00937'),
    Paper('vae', 'Generating Diverse High-Fidelity Images with VQ-VAE-2',
          'A. Razavi, A. van den Oord, O. Vinyals', 2019, 'NeurIPS',
          'https://arxiv.org/pdf/1906.00446'),
    Paper('diffusion', 'Deep Unsupervised Learning using Nonequilibrium Thermodynamics',
          'J. Sohl-Dickstein et al.', 2015, 'ICML',
          'https://arxiv.org/pdf/1503.03585'),
    Paper('diffusion', 'Denoising Diffusion Probabilistic Models',
          'J. Ho, A. Jain, P. Abbeel', 2020, 'NeurIPS',
          'https://arxiv.org/pdf/2006.11239'),
    Paper('diffusion', 'Improved Denoising Diffusion Probabilistic Models',
          'A. Nichol, P. Dhariwal', 2021, 'ICML',
          'https://arxiv.org/pdf/2102.09672'),
    Paper('diffusion', 'Diffusion Models Beat GANs on Image Synthesis',
          'P. Dhariwal, A. Nichol', 2021, 'NeurIPS',
          'https://arxiv.org/pdf/2105.05233'),
    Paper('clip', 'Learning Transferable Visual Models From Natural Language Supervision',
          'A. Radford et al.', 2021, 'ICML',
          'https://arxiv.org/pdf/2103.00020'),
    Paper('dalle', 'Zero-Shot Text-to-Image Generation',
          'A. Ramesh et al.', 2021, 'ICML',
          'https://arxiv.org/pdf/2102.12092'),
    Paper('dalle', 'Hierarchical Text-Conditional Image Generation with CLIP Latents',
          'A. Ramesh et al.', 2022, 'arXiv',
          'https://arxiv.org/pdf/2204.06125'),
]


class UnknownTopic(LookupError):
    pass


def topic(name):
    """Find a topic by slug (dnn), folder (01-dnn), path (01-deep-neural-networks/01-dnn)
    or notebook path; an unknown name raises one error that suggests the closest ones."""
    key = Path(str(name).rstrip("/"))
    if key.suffix == ".ipynb":
        key = key.parent
    if key.exists() and key.resolve().is_relative_to(ROOT):
        key = key.resolve().relative_to(ROOT)
    key = key.as_posix()
    for t in TOPICS:
        if key in (t.slug, t.folder, t.folder.split("/")[1]):
            return t
    import difflib
    close = difflib.get_close_matches(str(name), [t.slug for t in TOPICS] + [t.folder for t in TOPICS], n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UnknownTopic(f"unknown topic {str(name)!r}.{hint} `python -m dlhistory list` shows them all.")


def here():
    """The topic whose folder is the working directory (a notebook's kernel runs there), or None."""
    cwd = Path(os.getcwd()).resolve()
    return next((t for t in TOPICS if t.path.resolve() == cwd), None)
