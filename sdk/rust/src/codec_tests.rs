use super::*;

fn req() -> Request {
    Request {
        method: "POST".into(),
        path: "/a/b%20c".into(),
        query: "name=J%C3%BCrgen&x".into(),
        headers: vec![
            ("content-type".into(), "text/plain".into()),
            ("x-empty".into(), String::new()),
        ],
        body: vec![0, 1, 2, 0xff],
        invocation_id: "inv-1".into(),
        deadline_ms: 1_700_000_000_123,
    }
}

#[test]
fn request_round_trips() {
    assert_eq!(decode_request(&encode_request(&req())).unwrap(), req());
}

#[test]
fn empty_bytes_decode_as_the_default_request() {
    assert_eq!(decode_request(&[]).unwrap(), Request::default());
}

#[test]
fn decodes_bytes_written_by_protobufjs() {
    // protobufjs: Request.encode({method:'GET', path:'/', query:'n=20',
    //   headers:[{name:'host', value:'x'}], body:[104,105], invocationId:'id', deadlineMs:300})
    let bytes = [
        0x0a, 3, b'G', b'E', b'T', 0x12, 1, b'/', 0x1a, 4, b'n', b'=', b'2', b'0', 0x22, 9, 0x0a,
        4, b'h', b'o', b's', b't', 0x12, 1, b'x', 0x2a, 2, b'h', b'i', 0x32, 2, b'i', b'd', 0x38,
        0xac, 0x02,
    ];
    let r = decode_request(&bytes).unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/");
    assert_eq!(r.query, "n=20");
    assert_eq!(r.headers, vec![("host".to_string(), "x".to_string())]);
    assert_eq!(r.body, b"hi");
    assert_eq!(r.invocation_id, "id");
    assert_eq!(r.deadline_ms, 300);
}

#[test]
fn skips_unknown_fields_of_every_wire_type() {
    let mut bytes = encode_request(&req());
    // Field 100 varint (incl. a 10-byte one), 101 fixed64, 102 length-delimited, 103 fixed32.
    bytes.extend([0xa0, 0x06, 0x96, 0x01]);
    bytes.extend([
        0xa0, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    bytes.extend([0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
    bytes.extend([0xb2, 0x06, 3, b'a', b'b', b'c']);
    bytes.extend([0xbd, 0x06, 1, 2, 3, 4]);
    // Field 104 as a group holding a nested group (field 1) and a varint, then its end tag.
    bytes.extend([0xc3, 0x06, 0x0b, 0x10, 0x05, 0x0c, 0x08, 0x07, 0xc4, 0x06]);
    // Unknown fields inside a header, too.
    bytes.extend([
        0x22, 0x0d, 0x0a, 0x01, b'k', 0x12, 0x01, b'v', 0x18, 0x01, 0x25, 0, 0, 0, 0,
    ]);
    let r = decode_request(&bytes).unwrap();
    let mut want = req();
    want.headers.push(("k".into(), "v".into()));
    assert_eq!(r, want);
}

#[test]
fn a_later_scalar_field_wins() {
    let mut bytes = encode_request(&req());
    bytes.extend([0x0a, 3, b'P', b'U', b'T']);
    assert_eq!(decode_request(&bytes).unwrap().method, "PUT");
}

#[test]
fn refuses_malformed_input() {
    let cases: &[&[u8]] = &[
        &[0x0a],                   // tag without a length
        &[0x0a, 5, b'a'],          // length past the end
        &[0x08, 0x80],             // truncated varint
        &[0x00, 0x01],             // field number 0
        &[0xa6, 0x06],             // wire type 6
        &[0xa4, 0x06],             // group end without a start
        &[0xa3, 0x06, 0xac, 0x06], // group ended by another field's end tag
        &[0xa3, 0x06],             // group without an end
        &[0x08, 0x01],             // method (string) sent as a varint
        &[0x0a, 2, 0xc3, 0x28],    // method is not UTF-8
        &[
            0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ], // 11-byte varint
    ];
    for case in cases {
        assert!(decode_request(case).is_err(), "accepted {case:02x?}");
    }
}

#[test]
fn encodes_a_response_like_protobufjs() {
    let res = Response::new(404)
        .header("a", "b")
        .header("x", "")
        .body("hi");
    assert_eq!(
        encode_response(&res),
        [
            0x08, 0x94, 0x03, 0x12, 0x06, 0x0a, 1, b'a', 0x12, 1, b'b', 0x12, 0x03, 0x0a, 1, b'x',
            0x1a, 2, b'h', b'i'
        ]
    );
}

#[test]
fn omits_zero_values_from_a_response() {
    assert_eq!(encode_response(&Response::default()), Vec::<u8>::new());
}

#[test]
fn sizes_long_headers_and_bodies() {
    let long = "v".repeat(300);
    let res = Response::ok()
        .header("k", long.clone())
        .body(vec![7u8; 20_000]);
    let bytes = encode_response(&res);
    // status (3), header: tag + 2-byte len + 306 = 309, body: tag + 3-byte len + 20000.
    assert_eq!(&bytes[..7], &[0x08, 200, 0x01, 0x12, 0xb2, 0x02, 0x0a]);
    assert_eq!(bytes.len(), 3 + 309 + 20_004);
}

#[test]
fn varint_len_matches_the_encoding() {
    for v in [0, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        assert_eq!(varint_len(v), out.len(), "{v}");
    }
}
