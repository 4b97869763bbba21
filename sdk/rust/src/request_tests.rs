use super::*;

fn with_query(query: &str) -> Request {
    Request {
        query: query.into(),
        ..Default::default()
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    with_query(query)
        .query_param(name)
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

#[test]
fn takes_the_first_matching_part() {
    assert_eq!(param("a=1&name=x&name=y", "name").as_deref(), Some("x"));
}

#[test]
fn a_part_without_equals_is_a_key_with_an_empty_value() {
    assert_eq!(param("name&name=y", "name").as_deref(), Some(""));
    assert_eq!(param("name=", "name").as_deref(), Some(""));
}

#[test]
fn absent_is_none() {
    assert_eq!(param("", "name"), None);
    assert_eq!(param("names=1&nam=2", "name"), None);
}

#[test]
fn keys_are_compared_raw() {
    assert_eq!(param("na%6De=1", "name"), None);
    assert_eq!(param("na%6De=1", "na%6De").as_deref(), Some("1"));
}

#[test]
fn value_splits_at_the_first_equals() {
    assert_eq!(param("k=a=b", "k").as_deref(), Some("a=b"));
}

#[test]
fn decodes_plus_and_percent_escapes() {
    assert_eq!(param("name=J%C3%BCrgen", "name").as_deref(), Some("Jürgen"));
    assert_eq!(param("k=a+b%2Bc%2bd", "k").as_deref(), Some("a b+c+d"));
}

#[test]
fn keeps_a_percent_without_two_hex_digits() {
    assert_eq!(param("k=100%&j=%4&l=%zz%4g%", "k").as_deref(), Some("100%"));
    assert_eq!(param("j=%4", "j").as_deref(), Some("%4"));
    assert_eq!(param("l=%zz%4g%", "l").as_deref(), Some("%zz%4g%"));
    assert_eq!(param("m=%%41", "m").as_deref(), Some("%A"));
}

#[test]
fn yields_raw_bytes() {
    assert_eq!(with_query("k=%FF%00").query_param("k"), Some(vec![0xff, 0]));
}

#[test]
fn finds_headers_case_insensitively() {
    let r = Request {
        headers: vec![("x-a".into(), "1".into()), ("x-a".into(), "2".into())],
        ..Default::default()
    };
    assert_eq!(r.header("X-A"), Some("1"));
    assert_eq!(r.header("x-b"), None);
}
