//! [`Failure`]: how a command fails, and so `vnpop`'s exit status. One convention for every
//! command: a usage error — a flag's value the command refuses before doing anything, as clap
//! refuses an unknown flag — is exit status 2, clap's own; any other failure is 1.

/// Why a command failed: its message (printed after `vnpop: `) and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The command line asks for something the command refuses before doing anything: a date
    /// that is not a day, a period that ends before it starts, an output directory that does
    /// not exist. Exit status 2.
    Usage(String),
    /// Anything else: a server that cannot be reached, a file that cannot be read, a refusal.
    /// Exit status 1.
    Failed(String),
}

impl Failure {
    /// The exit status: 2 for a usage error (as clap's), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    /// The message, without the `vnpop: ` prefix.
    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(message) | Failure::Failed(message) => message,
        }
    }
}

/// A command's error message is a failure (exit status 1) unless it says otherwise.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Failed(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_exits_2_as_claps_and_a_failure_1() {
        assert_eq!(Failure::Usage("bad".into()).exit_code(), 2);
        assert_eq!(Failure::from("failed".to_owned()).exit_code(), 1);
        assert_eq!(Failure::Usage("bad".into()).message(), "bad");
    }
}
