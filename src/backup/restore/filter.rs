//! A MariaDB dump made with `--databases` creates and selects its own database; restored
//! elsewhere, those statements are left out line by line so the data goes where the
//! connection points. Lines are held whole, up to a bound.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::stream::PumpError;

/// The longest line held (an extended INSERT is about `net_buffer_length`, 1 MiB).
const LINE_LIMIT: u64 = 64 * 1024 * 1024;

/// Copies `reader` into `writer` without the dump's own database statements: its first
/// `CREATE DATABASE`, which names the dumped database, and every `USE` of that database.
pub async fn without_database<R, W>(reader: &mut R, writer: &mut W) -> Result<(), PumpError>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut use_line: Option<Vec<u8>> = None;
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(LINE_LIMIT + 1)
            .read_until(b'\n', &mut line)
            .await
            .map_err(PumpError::Read)?;
        if read == 0 {
            break;
        }
        if line.len() as u64 > LINE_LIMIT {
            return Err(PumpError::Read(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the dump has a line longer than {} MiB", LINE_LIMIT >> 20),
            )));
        }
        let text = line.trim_ascii_end();
        let own = match &use_line {
            None if text.starts_with(b"CREATE DATABASE ") => {
                use_line = quoted_name(text).map(|name| [b"USE ", name, b";"].concat());
                true
            }
            None => false,
            Some(use_line) => text == use_line.as_slice(),
        };
        if !own {
            writer.write_all(&line).await.map_err(PumpError::Write)?;
        }
    }
    writer.flush().await.map_err(PumpError::Write)?;
    Ok(())
}

/// The first backquoted name of `line`, quotes included (a doubled quote is part of it).
fn quoted_name(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|&byte| byte == b'`')?;
    let mut at = start + 1;
    while at < line.len() {
        if line[at] == b'`' {
            if line.get(at + 1) == Some(&b'`') {
                at += 2;
                continue;
            }
            return Some(&line[start..=at]);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn filtered(dump: &str) -> String {
        let mut out = Vec::new();
        let result = without_database(&mut dump.as_bytes(), &mut out).await;
        assert!(result.is_ok());
        String::from_utf8(out).expect("utf-8")
    }

    #[tokio::test]
    async fn the_dumps_own_database_statements_are_left_out() {
        let dump = "-- Current Database: `shop`\n\
            CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n\
            \n\
            USE `shop`;\n\
            CREATE TABLE `t` (`a` int);\n\
            INSERT INTO `t` VALUES (1);\n";

        let out = filtered(dump).await;

        assert_eq!(
            out,
            "-- Current Database: `shop`\n\nCREATE TABLE `t` (`a` int);\nINSERT INTO `t` VALUES (1);\n"
        );
    }

    #[tokio::test]
    async fn statements_naming_other_databases_pass() {
        let dump = "CREATE DATABASE `sh``op`;\nUSE `other`;\nINSERT INTO t VALUES ('USE `sh``op`;');\nUSE `sh``op`;\n";

        assert_eq!(
            filtered(dump).await,
            "USE `other`;\nINSERT INTO t VALUES ('USE `sh``op`;');\n"
        );
    }
}
