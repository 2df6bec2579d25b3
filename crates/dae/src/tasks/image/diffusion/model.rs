//! The noise-conditioned U-Net: one denoiser for every noise level (Ho et al. 2020, smaller).
//!
//! ```text
//! t ─ sinusoid(width) ─ Linear(width → 4w) SiLU Linear(4w → 4w) ─ e          (the level embedding)
//! x_t ─ Conv3x3(in → c0) ─┬─ Res(c0) ─ AvgPool2 ─ Res(c1) ─ AvgPool2 ─ … ─ Res(c_depth) [─ Attn]
//!                          │      ╰──────── skip ──────╮        (every level's Res output is a skip)
//! decoder, deepest first:  ConvT2x2/2(c_{l+1} → c_l), concat the level-l skip, Res(2c_l → c_l)
//! head:                    [GroupNorm] SiLU Conv3x3(c0 → in)           (ε, x0 or v: the prediction)
//! Res(a → b, e):           h = Conv3x3(SiLU([GN] x)) + Linear(SiLU e)[:, :, 1, 1]
//!                          out = Conv3x3(SiLU([GN] h)) + (a == b ? x : Conv1x1(x))
//! ```
//!
//! The level enters every residual block as a per-channel shift, so one set of filters serves
//! all levels. Group normalization and a self-attention layer at the lowest resolution are
//! options (`--group-norm`, `--attention`); the 3x3, 1x1 and transposed convolutions and the
//! average pools run on dae's CPU kernels. Level `l` has `width · 2^l` channels; `depth` poolings mean the image side
//! must be a multiple of `2^depth` (28 = 4 · 7 for depth 2).

use burn::nn::attention::{MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::kernels::{avg_pool2d, conv2d, conv_transpose2d, linear, silu, Activation};

/// The U-Net's settings (stored in the run's `config.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeUnetSettings {
    /// Channels at full resolution; each level below doubles them.
    pub width: usize,
    /// Number of 2x down-samplings.
    pub depth: usize,
    /// Group normalization (8 groups, or fewer for narrow layers) before each activation.
    pub group_norm: bool,
    /// Single-head self-attention over the positions of the lowest resolution.
    pub attention: bool,
}

impl Default for TimeUnetSettings {
    fn default() -> Self {
        // Sized for a CPU: 44 MFLOP of convolutions per 28x28 image forward (counted from the
        // layer sizes); width 32 is four times the work.
        TimeUnetSettings {
            width: 16,
            depth: 2,
            group_norm: false,
            attention: false,
        }
    }
}

/// Optional group normalization: `None` passes the input through. With one channel per group
/// (layers of 8 channels or fewer) the norm removes a per-channel shift entirely, so the level
/// embedding only reaches the network through wider layers: `--group-norm` is for widths of 16
/// and more.
fn norm(layer: &Option<GroupNorm>, x: Tensor<4>) -> Tensor<4> {
    match layer {
        Some(gn) => gn.forward(x),
        None => x,
    }
}

fn group_norm(on: bool, channels: usize, device: &Device) -> Option<GroupNorm> {
    // The largest group count up to 8 that divides the channels.
    let groups = (1..=8)
        .rev()
        .find(|g| channels.is_multiple_of(*g))
        .unwrap_or(1);
    on.then(|| GroupNormConfig::new(groups, channels).init(device))
}

fn conv3x3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// A residual block with the level embedding added between its two convolutions.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// Normalization before the first convolution (optional).
    pub norm_a: Option<GroupNorm>,
    /// First convolution (changes the channel count).
    pub conv_a: Conv2d,
    /// The level embedding's per-channel shift.
    pub level: Linear,
    /// Normalization before the second convolution (optional).
    pub norm_b: Option<GroupNorm>,
    /// Second convolution.
    pub conv_b: Conv2d,
    /// 1x1 convolution of the shortcut when the channel count changes.
    pub shortcut: Option<Conv2d>,
}

impl ResBlock {
    fn new(c_in: usize, c_out: usize, embed: usize, gn: bool, device: &Device) -> Self {
        ResBlock {
            norm_a: group_norm(gn, c_in, device),
            conv_a: conv3x3(c_in, c_out, device),
            level: LinearConfig::new(embed, c_out).init(device),
            norm_b: group_norm(gn, c_out, device),
            conv_b: conv3x3(c_out, c_out, device),
            shortcut: (c_in != c_out)
                .then(|| Conv2dConfig::new([c_in, c_out], [1, 1]).init(device)),
        }
    }

    /// `x` at the level whose activated embedding is `e` (`[batch, embed]`).
    fn forward(&self, x: Tensor<4>, e: Tensor<2>) -> Tensor<4> {
        let h = conv2d(&self.conv_a, silu(norm(&self.norm_a, x.clone())));
        let [b, c] = [h.dims()[0], h.dims()[1]];
        let shift = linear(&self.level, e, Activation::Identity).reshape([b, c, 1, 1]);
        let h = conv2d(&self.conv_b, silu(norm(&self.norm_b, h + shift)));
        let skip = match &self.shortcut {
            Some(conv) => conv2d(conv, x),
            None => x,
        };
        h + skip
    }
}

/// Self-attention over the `h · w` positions of a feature map, with a residual connection.
#[derive(Module, Debug)]
pub struct SpatialAttention {
    /// Normalization of the input (always on: attention logits need a bounded scale).
    pub norm: GroupNorm,
    /// The attention layer (one head).
    pub attention: MultiHeadAttention,
}

impl SpatialAttention {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let tokens = self
            .norm
            .forward(x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let out = crate::kernels::self_attention_forward(&self.attention, tokens);
        x + out.swap_dims(1, 2).reshape([b, c, h, w])
    }
}

/// The noise-conditioned U-Net. `forward(x_t, t)` returns the prediction, shaped like `x_t`.
#[derive(Module, Debug)]
pub struct TimeUnet {
    /// First layer of the level embedding (sinusoid → 4 · width).
    pub embed_a: Linear,
    /// Second layer of the level embedding.
    pub embed_b: Linear,
    /// 3x3 convolution from the image channels to `width`.
    pub stem: Conv2d,
    /// Encoder blocks, full resolution first; the last is the bottleneck (`depth + 1`).
    pub down: Vec<ResBlock>,
    /// Attention at the lowest resolution (optional).
    pub middle: Option<SpatialAttention>,
    /// 2x2 stride-2 up-convolutions, deepest first (`depth`).
    pub up: Vec<ConvTranspose2d>,
    /// Decoder blocks after each skip concatenation, deepest first (`depth`).
    pub merge: Vec<ResBlock>,
    /// Normalization before the head (optional).
    pub head_norm: Option<GroupNorm>,
    /// 3x3 convolution to the image channels: the prediction.
    pub head: Conv2d,
    /// `AvgPool2d(2)` between encoder levels.
    pub pool: AvgPool2d,
    /// Width of the sinusoidal level features.
    pub sinusoid: usize,
}

impl TimeUnetSettings {
    /// Builds the network for `channels`-channel images with Burn's default initialization.
    pub fn init(&self, channels: usize, device: &Device) -> TimeUnet {
        let w = self.width;
        let embed = 4 * w;
        let level_width = |l: usize| w << l;
        let mut down = Vec::with_capacity(self.depth + 1);
        let mut c_in = w;
        for l in 0..=self.depth {
            down.push(ResBlock::new(
                c_in,
                level_width(l),
                embed,
                self.group_norm,
                device,
            ));
            c_in = level_width(l);
        }
        let bottom = level_width(self.depth);
        let middle = self.attention.then(|| SpatialAttention {
            norm: group_norm(true, bottom, device).expect("asked for"),
            // No dropout on the attention weights (Burn's default is 0.1; DDPM's attention has none).
            attention: MultiHeadAttentionConfig::new(bottom, 1)
                .with_dropout(0.0)
                .init(device),
        });
        let (mut up, mut merge) = (Vec::new(), Vec::new());
        for l in (0..self.depth).rev() {
            let (c, below) = (level_width(l), level_width(l + 1));
            up.push(
                ConvTranspose2dConfig::new([below, c], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
            );
            merge.push(ResBlock::new(2 * c, c, embed, self.group_norm, device));
        }
        TimeUnet {
            embed_a: LinearConfig::new(w, embed).init(device),
            embed_b: LinearConfig::new(embed, embed).init(device),
            stem: conv3x3(channels, w, device),
            down,
            middle,
            up,
            merge,
            head_norm: group_norm(self.group_norm, w, device),
            head: conv3x3(w, channels, device),
            pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            sinusoid: w,
        }
    }
}

/// Sinusoidal features of the timesteps `t` (`[batch]`), `dim` wide (even): the first half
/// `sin(t · f_i)`, the second `cos(t · f_i)`, `f_i = 10000^(−i / (dim/2 − 1))` — the transformer's
/// position encoding with the DDPM ordering (sin first).
pub fn sinusoid(t: &[usize], dim: usize, device: &Device) -> Tensor<2> {
    let half = dim / 2;
    let mut out = vec![0f32; t.len() * dim];
    for (row, &step) in out.chunks_exact_mut(dim).zip(t) {
        for i in 0..half {
            let freq = (-(10000f64.ln()) * i as f64 / (half.max(2) - 1) as f64).exp();
            let angle = step as f64 * freq;
            row[i] = angle.sin() as f32;
            row[half + i] = angle.cos() as f32;
        }
    }
    Tensor::from_data(TensorData::new(out, [t.len(), dim]), device)
}

impl TimeUnet {
    /// The prediction at `x` (`[batch, channels, h, w]`, h and w multiples of `2^depth`) for the
    /// timesteps `t` (one per image).
    pub fn forward(&self, x: Tensor<4>, t: &[usize]) -> Tensor<4> {
        let device = x.device();
        let features = sinusoid(t, self.sinusoid, &device);
        let e = linear(&self.embed_a, features, Activation::Identity);
        let e = silu(linear(&self.embed_b, silu(e), Activation::Identity));
        let mut h = conv2d(&self.stem, x);
        let mut skips = Vec::with_capacity(self.down.len());
        let last = self.down.len() - 1;
        for (l, block) in self.down.iter().enumerate() {
            h = block.forward(h, e.clone());
            if l < last {
                skips.push(h.clone());
                h = avg_pool2d(&self.pool, h);
            }
        }
        if let Some(attention) = &self.middle {
            h = attention.forward(h);
        }
        for (up, merge) in self.up.iter().zip(&self.merge) {
            let skip = skips.pop().expect("one skip per level");
            h = merge.forward(
                Tensor::cat(vec![conv_transpose2d(up, h, Activation::Identity), skip], 1),
                e.clone(),
            );
        }
        conv2d(&self.head, silu(norm(&self.head_norm, h)))
    }
}
