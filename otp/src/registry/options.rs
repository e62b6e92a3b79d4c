//! How a registry is made: [`Keys`] and [`Options`].

/// Whether a key names one process or many (Elixir's `:keys` option).
///
/// ```
/// use otp::registry::{Keys, Registry};
///
/// let names: Registry<String, ()> = Registry::new(Keys::Unique);
/// let topics: Registry<String, ()> = Registry::new(Keys::Duplicate);
/// assert_eq!(names.kind(), Keys::Unique);
/// assert_eq!(topics.kind(), Keys::Duplicate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// A key is held by at most one process at a time (`:unique`): a name service.
    Unique,
    /// A key may be registered by any number of processes, each with its own value, and by
    /// the same process several times (`:duplicate`): topics for pub/sub.
    Duplicate,
}

/// A registry's options: its kind of keys and how many partitions its tables are split into.
///
/// ```
/// use otp::registry::{Keys, Options, Registry};
///
/// let registry: Registry<u64, String> = Registry::new(Options::new(Keys::Duplicate).partitions(4));
/// assert_eq!(registry.partitions(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub(super) keys: Keys,
    pub(super) partitions: usize,
}

impl Options {
    /// `keys`, one partition (Elixir's default).
    ///
    /// ```
    /// use otp::registry::{Keys, Options, Registry};
    ///
    /// let registry: Registry<String, ()> = Registry::new(Options::new(Keys::Unique));
    /// assert_eq!(registry.partitions(), 1);
    /// ```
    pub fn new(keys: Keys) -> Options {
        Options {
            keys,
            partitions: 1,
        }
    }

    /// Splits the tables into `n` partitions, each with its own locks and its own cleanup
    /// process (`:partitions`). More partitions let more schedulers register and clean up at
    /// once; a usual choice is the number of schedulers.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// use otp::registry::{Keys, Options};
    ///
    /// let opts = Options::new(Keys::Unique).partitions(8);
    /// # let _ = opts;
    /// ```
    pub fn partitions(mut self, n: usize) -> Options {
        assert!(n > 0, "a registry needs at least one partition");
        self.partitions = n;
        self
    }
}

impl From<Keys> for Options {
    fn from(keys: Keys) -> Options {
        Options::new(keys)
    }
}
