//! The routes of `router.rs` and the signatures of their handlers, read from the source text.
//! Deliberately small: it understands the router as written (a `Router::new()` chain per
//! statement of `router`, `.route`, `.nest`, layers) and panics on anything else, so a new
//! construct is taught here rather than silently skipped.

use std::collections::{BTreeMap, BTreeSet};

/// The handler modules' sources, by the name `router.rs` calls them with.
const SOURCES: [(&str, &str); 11] = [
    ("campaigns", include_str!("../campaigns.rs")),
    ("conversations", include_str!("../conversations.rs")),
    ("suppressions", include_str!("../suppressions.rs")),
    ("lists", include_str!("../lists.rs")),
    ("recipients", include_str!("../recipients.rs")),
    ("workflows", include_str!("../workflows.rs")),
    ("webhooks", include_str!("../webhooks.rs")),
    ("events", include_str!("../events.rs")),
    ("preview", include_str!("../preview.rs")),
    ("realtime", include_str!("../realtime.rs")),
    ("router", ROUTER),
];

/// The method routers of axum (`any` is every method).
pub const METHODS: [&str; 9] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "any",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Rust tokens, enough for `router.rs`: identifiers, string literals, punctuation; comments
/// and char literals are skipped.
fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                text.push(chars[i]);
                i += 1;
            }
            out.push(Token::Str(text));
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3; // 'x'
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

fn depth_change(token: &Token) -> i32 {
    match token {
        Token::Punct('(' | '[' | '{') => 1,
        Token::Punct(')' | ']' | '}') => -1,
        _ => 0,
    }
}

/// Splits at `separator` outside brackets.
fn split_top(tokens: &[Token], separator: char) -> Vec<&[Token]> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, token) in tokens.iter().enumerate() {
        depth += depth_change(token);
        if depth == 0 && *token == Token::Punct(separator) {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    parts.push(&tokens[start..]);
    parts.retain(|part| !part.is_empty());
    parts
}

/// The index just past the bracket closing the one at `open`.
fn past_close(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        depth += depth_change(token);
        if depth == 0 {
            return i + 1;
        }
    }
    panic!("unbalanced brackets in router.rs");
}

/// `name(args)` at `i`: the name, the arguments, and the index after the call.
fn call(tokens: &[Token], i: usize) -> (&str, Vec<&[Token]>, usize) {
    let (Some(Token::Ident(name)), Some(Token::Punct('('))) = (tokens.get(i), tokens.get(i + 1))
    else {
        panic!("router.rs: expected a call at {:?}", &tokens[i..]);
    };
    let end = past_close(tokens, i + 1);
    (name, split_top(&tokens[i + 2..end - 1], ','), end)
}

fn text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::Ident(s) => s.clone(),
            Token::Str(s) => format!("{s:?}"),
            Token::Punct(c) => c.to_string(),
        })
        .collect()
}

fn names_authenticate(args: &[&[Token]]) -> bool {
    args.iter()
        .any(|arg| arg.contains(&Token::Ident("authenticate".into())))
}

/// A route the router serves.
#[derive(Debug, Clone)]
pub struct Route {
    /// `get`, `post`, ..., `any`.
    pub method: String,
    /// The full path, nesting prefixes included.
    pub path: String,
    /// `module::function`, or a function of `router.rs`.
    pub handler: String,
    /// Whether a layer naming `authenticate` covers it.
    pub authenticated: bool,
}

/// `get(h).post(h2).layer(...)`: the methods and handlers, and whether it authenticates.
fn method_router(tokens: &[Token], path: &str) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i > 0 {
            assert_eq!(tokens[i], Token::Punct('.'), "router.rs, {path}");
            i += 1;
        }
        let (name, args, next) = call(tokens, i);
        match name {
            method if METHODS.contains(&method) => routes.push(Route {
                method: method.to_string(),
                path: path.to_string(),
                handler: text(args[0]),
                authenticated: false,
            }),
            "layer" | "route_layer" => {
                let authenticated = names_authenticate(&args);
                routes
                    .iter_mut()
                    .for_each(|r| r.authenticated |= authenticated);
            }
            other => panic!("router.rs, {path}: teach openapi_check about `.{other}()`"),
        }
        i = next;
    }
    routes
}

/// Every route `router()` serves.
pub fn router_routes() -> Vec<Route> {
    routes_in(ROUTER)
}

/// The source of `router.rs`.
pub const ROUTER: &str = include_str!("../router.rs");

/// Every route the `router` function of `source` serves.
pub fn routes_in(source: &str) -> Vec<Route> {
    let all = tokens(source);
    let start = all
        .windows(3)
        .position(|w| w[0] == Token::Ident("fn".into()) && w[1] == Token::Ident("router".into()))
        .expect("router.rs has `fn router`");
    let open = start
        + all[start..]
            .iter()
            .position(|t| *t == Token::Punct('{'))
            .expect("a body");
    let body = &all[open + 1..past_close(&all, open) - 1];
    let mut bound: BTreeMap<String, Vec<Route>> = BTreeMap::new();
    let mut served = None;
    for statement in split_top(body, ';') {
        let (name, chain) = match statement {
            [
                Token::Ident(l),
                Token::Ident(name),
                Token::Punct('='),
                rest @ ..,
            ] if l == "let" => (Some(name.clone()), rest),
            rest => (None, rest),
        };
        assert_eq!(
            chain.get(..6).map(text).as_deref(),
            Some("Router::new()"),
            "router.rs: a statement of `router` that is not a Router chain"
        );
        let mut routes: Vec<Route> = Vec::new();
        let mut i = 6;
        while i < chain.len() {
            assert_eq!(chain[i], Token::Punct('.'), "router.rs: {}", text(chain));
            let (method, args, next) = call(chain, i + 1);
            match (method, args.as_slice()) {
                ("route", [[Token::Str(path)], methods]) => {
                    routes.extend(method_router(methods, path));
                }
                ("nest", [[Token::Str(prefix)], [Token::Ident(inner)]]) => {
                    let nested = bound.remove(inner).expect("nest of a router bound before");
                    routes.extend(nested.into_iter().map(|r| Route {
                        path: format!("{prefix}{}", r.path),
                        ..r
                    }));
                }
                ("layer" | "route_layer", _) => {
                    let authenticated = names_authenticate(&args);
                    routes
                        .iter_mut()
                        .for_each(|r| r.authenticated |= authenticated);
                }
                ("fallback" | "with_state", _) => {}
                (other, _) => panic!("router.rs: teach openapi_check about `.{other}()`"),
            }
            i = next;
        }
        match name {
            Some(name) => assert!(bound.insert(name, routes).is_none()),
            None => served = Some(routes),
        }
    }
    assert!(
        bound.is_empty(),
        "router.rs: routers never served: {bound:?}"
    );
    served.expect("`router` ends with the served Router")
}

// -------------------------------------------------------------- handlers, read as text

/// What a handler's source says about its request and answer.
#[derive(Debug)]
pub struct Signature {
    /// The `T` of its `Query<T>`.
    pub query: Option<String>,
    /// The `T` of its `Json<T>` body.
    pub json_body: Option<String>,
    /// Whether that body is an `Option<Json<T>>`.
    pub body_optional: bool,
    /// Whether it reads the raw body (`Bytes`, `Body`).
    pub raw_body: bool,
    /// The `T` of the `Json<T>` it answers with; for a handler that builds its `Response`,
    /// the `T` of the `Json(T { .. })` in it.
    pub answer: Option<String>,
    /// The media types of its success answer (none for a 204).
    pub content: BTreeSet<String>,
    /// Its success status.
    pub status: &'static str,
}

/// The text after `marker` in `haystack`, up to the `>` that closes the `<` ending `marker`.
pub fn generic_argument(haystack: &str, marker: &str) -> Option<String> {
    let start = haystack.find(marker)? + marker.len();
    let mut depth = 1;
    for (i, c) in haystack[start..].char_indices() {
        depth += match c {
            '<' => 1,
            '>' => -1,
            _ => 0,
        };
        if depth == 0 {
            return Some(haystack[start..start + i].trim().to_string());
        }
    }
    None
}

/// `source` with the insides of comments, string and char literals blanked, so brackets in
/// them do not count. Each blanked character becomes as many spaces as its UTF-8 length: an
/// index into the result is an index into `source`.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        let end = if c == '/' && next == Some('/') {
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
        } else if c == '/' && next == Some('*') {
            (i + 2..chars.len())
                .find(|&j| chars[j - 1] == '*' && chars[j] == '/')
                .map_or(chars.len(), |j| j + 1)
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i + 3
        } else if c == '\'' && next == Some('\\') {
            (i + 2..chars.len())
                .find(|&j| chars[j] == '\'')
                .map_or(chars.len(), |j| j + 1)
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        let end = end.min(chars.len());
        let bytes = chars[i..end].iter().map(|c| c.len_utf8()).sum();
        out.extend(std::iter::repeat_n(' ', bytes));
        i = end;
    }
    out
}

/// The media types among the string literals of `code` (`"text/csv; charset=utf-8"` is
/// `text/csv`).
fn media_types(code: &str) -> BTreeSet<String> {
    const TOP: [&str; 8] = [
        "application",
        "text",
        "image",
        "audio",
        "video",
        "multipart",
        "font",
        "model",
    ];
    tokens(code)
        .into_iter()
        .filter_map(|token| match token {
            Token::Str(text) => {
                let essence = text
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                let (top, sub) = essence.split_once('/')?;
                let word = |c: char| c.is_ascii_alphanumeric() || "+-.".contains(c);
                (TOP.contains(&top) && !sub.is_empty() && sub.chars().all(word)).then_some(essence)
            }
            _ => None,
        })
        .collect()
}

/// The `T` of the `Json(T { .. })`s `code` builds, if any (all the same `T`).
fn built_json(code: &str, handler: &str) -> Option<String> {
    let mut found: BTreeSet<String> = BTreeSet::new();
    for (at, _) in code.match_indices("Json(") {
        let rest = code[at + "Json(".len()..].trim_start();
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let built = rest[name.len()..].trim_start().starts_with('{');
        if built && name.starts_with(|c: char| c.is_ascii_uppercase()) {
            found.insert(name);
        }
    }
    assert!(
        found.len() <= 1,
        "{handler} answers JSON of several types: {found:?}; teach openapi_check"
    );
    found.pop_first()
}

/// What the source of `handler` (`module::function`) declares.
pub fn signature(handler: &str) -> Signature {
    let (module, function) = handler.split_once("::").unwrap_or(("router", handler));
    let raw = SOURCES
        .iter()
        .find(|(name, _)| *name == module)
        .unwrap_or_else(|| panic!("teach openapi_check where `{module}` is"))
        .1;
    let source = &code_only(raw);
    let marker = format!("async fn {function}(");
    let at = source.find(&marker).expect("the handler") + marker.len();
    let close = |open: char, close: char, from: usize| {
        let mut depth = 1;
        from + source[from..]
            .char_indices()
            .find(|(_, c)| {
                depth += i32::from(*c == open) - i32::from(*c == close);
                depth == 0
            })
            .expect("balanced")
            .0
    };
    let params_end = close('(', ')', at);
    let params = &source[at..params_end];
    let body_open = params_end + source[params_end..].find('{').expect("a body") + 1;
    let answer_type = &source[params_end..body_open];
    let body_close = close('{', '}', body_open);
    let body = &source[body_open..body_close];
    // `AppState::created` answers 201 with the campaign's view.
    let status = if body.contains("StatusCode::CREATED") || body.contains("state.created(") {
        "201"
    } else if body.contains("StatusCode::ACCEPTED") {
        "202"
    } else if body.contains("Ok(StatusCode::NO_CONTENT)") {
        "204"
    } else {
        "200"
    };
    let mut answer = generic_argument(answer_type, "Json<");
    let content: BTreeSet<String> = if status == "204" {
        BTreeSet::new()
    } else if answer.is_some() {
        BTreeSet::from(["application/json".to_string()])
    } else if answer_type.contains("Sse<") {
        BTreeSet::from(["text/event-stream".to_string()])
    } else if answer_type.contains("Response") {
        // A handler that builds its answer: the media types it names, and JSON if it builds
        // a `Json`.
        answer = built_json(body, handler);
        let mut types = media_types(&raw[body_open..body_close]);
        if body.contains("Json(") {
            types.insert("application/json".to_string());
        }
        assert!(!types.is_empty(), "{handler}: what does it answer?");
        types
    } else {
        panic!("teach openapi_check what {handler} answers: {answer_type}")
    };
    Signature {
        query: generic_argument(params, "Query<"),
        json_body: generic_argument(params, "Json<"),
        body_optional: params.contains("Option<Json<"),
        raw_body: params.contains(": Bytes") || params.contains(": Body"),
        answer,
        content,
        status,
    }
}
