//! `smefin token new|hash`: make bearer tokens and their token-file entries.

use clap::Subcommand;
use rand::RngExt;

use super::{CliError, print};
use crate::server::auth::{Principal, token_hash};

/// Token actions.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a random token for a principal and print its token-file entry.
    New {
        /// `bureau`, `analyst` or `bank:<id>`.
        #[arg(long)]
        principal: String,
    },
    /// Print the SHA-256 of a token read from stdin.
    Hash,
}

/// Runs a token action.
pub fn run(cmd: TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::New { principal } => {
            let p = Principal::parse(&principal).ok_or_else(|| {
                CliError::new(format!(
                    "--principal: `{principal}` is not bureau, analyst or bank:<id> (id: 1-64 letters, digits, '-' or '_')"
                ))
            })?;
            let bytes: [u8; 32] = rand::rng().random();
            let token = format!("smf_{}", hex::encode(bytes));
            print(&format!(
                "token (give it to the client; it is not stored): {token}\n\n# token-file entry:\n[[token]]\nsha256 = \"{}\"\nprincipal = \"{}\"\n",
                token_hash(&token),
                p.name()
            ))
        }
        TokenCommand::Hash => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| CliError::new(format!("stdin: {e}")))?;
            let token = s.trim();
            if token.is_empty() {
                return Err(CliError::new("stdin: no token (give the token on stdin)"));
            }
            print(&format!("{}\n", token_hash(token)))
        }
    }
}
