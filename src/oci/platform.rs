//! Which manifest of an index is for us: the platform asked for, by default the one this
//! process runs on, named as Go names them (GOOS/GOARCH), because that is what images carry.

use super::manifest::Platform;
use crate::error::{Error, Result};

impl Platform {
    /// The platform of this process: linux and Go's name for the CPU architecture.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "loongarch64" => "loong64",
            other => other,
        };
        Platform {
            architecture: architecture.to_string(),
            os: std::env::consts::OS.to_string(),
            variant: String::new(),
        }
    }

    /// Parse "os/arch[/variant]" (the form of `--platform` in podman and skopeo).
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad =
            || Error::invalid(format!("invalid platform {text:?}: expected os/arch[/variant]"));
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: String::new(),
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: variant.to_string(),
                })
            }
            _ => Err(bad()),
        }
    }

    /// Whether an index entry for `candidate` can run here: same OS and architecture, and the
    /// variant asked for when one was (any variant otherwise).
    pub fn accepts(&self, candidate: &Platform) -> bool {
        candidate.os == self.os
            && candidate.architecture == self.architecture
            && (self.variant.is_empty() || candidate.variant == self.variant)
    }

    pub fn describe(&self) -> String {
        match self.variant.as_str() {
            "" => format!("{}/{}", self.os, self.architecture),
            variant => format!("{}/{}/{variant}", self.os, self.architecture),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let wanted = Platform::parse("linux/arm64").unwrap();
        assert!(wanted.accepts(&Platform::parse("linux/arm64/v8").unwrap()));
        assert!(!wanted.accepts(&Platform::parse("linux/amd64").unwrap()));
        assert!(!Platform::parse("linux/arm/v7")
            .unwrap()
            .accepts(&Platform::parse("linux/arm/v6").unwrap()));
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
    }
}
