//! The mixing function behind [`HashPolicy::hash`](crate::HashPolicy::hash): a fixed-seed chain of
//! the MurmurHash3 64-bit finaliser (`fmix64`), which is a bijection with full avalanche (every
//! input bit flips every output bit with probability close to 1/2). Written here, with fixed
//! constants, so the result is the same on every run and every machine (no `RandomState`).

/// The fixed seed ("lagd-dis" in ASCII).
pub(crate) const SEED: u64 = 0x6c61_6764_2d64_6973;

/// The two multipliers of [`fmix64`].
pub const FMIX_MUL: [u64; 2] = [0xff51_afd7_ed55_8ccd, 0xc4ce_b9fe_1a85_ec53];
/// Added to the state after each word ([`Mixer::word`]).
pub const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// MurmurHash3's 64-bit finaliser.
#[inline]
pub(crate) const fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(FMIX_MUL[0]);
    x ^= x >> 33;
    x = x.wrapping_mul(FMIX_MUL[1]);
    x ^= x >> 33;
    x
}

/// An incremental hasher over 64-bit words.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mixer(u64);

impl Mixer {
    /// Starts from the fixed seed, separated by `domain` (which fields are hashed).
    #[inline]
    pub(crate) const fn new(domain: u64) -> Self {
        Mixer(fmix64(SEED ^ domain))
    }
    /// Absorbs one word.
    #[inline]
    pub(crate) const fn word(self, w: u64) -> Self {
        Mixer(fmix64(self.0 ^ w).wrapping_add(GOLDEN))
    }
    /// The state so far.
    #[inline]
    pub(crate) const fn state(self) -> u64 {
        self.0
    }
    /// The 32-bit result.
    #[inline]
    pub(crate) const fn finish(self) -> u32 {
        let h = fmix64(self.0);
        (h ^ (h >> 32)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bit_flips_about_half_the_output() {
        // Average Hamming distance between h(x) and h(x ^ bit) over many x and every bit.
        let mut total = 0u64;
        let mut n = 0u64;
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..200 {
            x = fmix64(x.wrapping_add(1));
            let base = Mixer::new(0).word(x).word(7).finish();
            for bit in 0..64 {
                let other = Mixer::new(0).word(x ^ (1 << bit)).word(7).finish();
                total += u64::from((base ^ other).count_ones());
                n += 1;
            }
        }
        let avg = total as f64 / n as f64;
        assert!((15.0..17.0).contains(&avg), "average flipped bits {avg}");
    }

    #[test]
    fn word_order_matters_and_domains_differ() {
        let a = Mixer::new(0).word(1).word(2).finish();
        let b = Mixer::new(0).word(2).word(1).finish();
        let c = Mixer::new(1).word(1).word(2).finish();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
