//! `${VAR}` expansion in paths and URLs. A missing variable is an error that names the variable,
//! never a value, so a secret kept in the environment stays out of messages.

/// Replaces every `${NAME}` with the environment variable NAME; the errors name what is wrong.
pub fn expand(value: &str) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(value.len());
    let mut errors = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            errors.push("unclosed `${` (write ${NAME} to read the environment variable NAME)".to_string());
            return Err(errors);
        };
        let name = &after[..end];
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => out.push_str(&v),
            _ => errors.push(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn expands_set_variables_and_names_missing_ones() {
        // PATH is set in every environment the tests run in.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand("a${PATH}b").unwrap(), format!("a{path}b"));
        assert_eq!(expand("plain").unwrap(), "plain");
        assert_eq!(
            expand("x${NEWSFOLD_SURELY_UNSET_VAR}y").unwrap_err(),
            vec!["environment variable NEWSFOLD_SURELY_UNSET_VAR is not set"]
        );
        assert_eq!(expand("${}").unwrap_err(), vec!["environment variable  is not set"]);
        assert!(expand("${OPEN").unwrap_err()[0].starts_with("unclosed"));
    }
}
