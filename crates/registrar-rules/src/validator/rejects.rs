//! Rejects files written by `import --skip-invalid`, read back after a fix.

use registrar_model::Value;

/// True for a rejects file written by `import --skip-invalid` (`<file>.rejects.csv`, any case).
pub(crate) fn is_rejects_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".rejects.csv")
}

/// Undoes the spreadsheet protection of a rejects file: a text cell that is `'` followed by
/// `=`, `+`, `-`, `@`, a tab or a carriage return loses exactly that one `'`, so a fixed rejects
/// file re-imports to the original values. Any other cell is left as it is.
pub(crate) fn unprotect_cells(values: &mut [Value]) {
    for v in values {
        if let Value::Text(t) = v {
            let b = t.as_bytes();
            if b.len() >= 2
                && b[0] == b'\''
                && matches!(b[1], b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
            {
                t.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod rejects_cells_tests {
    use super::*;

    #[test]
    fn exactly_the_protecting_quote_is_stripped() {
        let mut v = vec![
            Value::Text("'=1+2".into()),
            Value::Text("'+44 20".into()),
            Value::Text("'-x".into()),
            Value::Text("'@cmd".into()),
            Value::Text("'\tx".into()),
            Value::Text("'\rx".into()),
            Value::Text("''=x".into()),
            Value::Text("'plain".into()),
            Value::Text("'".into()),
            Value::Text("O'Brien".into()),
            Value::Int(3),
        ];
        unprotect_cells(&mut v);
        let texts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            texts,
            ["=1+2", "+44 20", "-x", "@cmd", "\tx", "\rx", "''=x", "'plain", "'", "O'Brien", "3"]
        );
    }

    #[test]
    fn only_rejects_files_are_unprotected() {
        assert!(is_rejects_file("users.csv.rejects.csv"));
        assert!(is_rejects_file("USERS.CSV.REJECTS.CSV"));
        assert!(!is_rejects_file("users.csv"));
        assert!(!is_rejects_file("rejects.csv.bak"));
    }
}
