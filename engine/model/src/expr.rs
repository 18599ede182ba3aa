//! Rhai expressions in workflows (`filter`, `when`, `save.value`, `branch.if`, triggers):
//! the sandboxed engine, compilation with known variables, and evaluation.
//!
//! Expressions, not scripts: no `let`, no loops, no function definitions — a condition or a
//! computed value is all a workflow needs, and it keeps evaluation cheap and bounded. Strict
//! variables: a name that is not in scope is a compile error (caught by `validate`), not a
//! silent `()` at send time.

use std::sync::Arc;

use rhai::{AST, Dynamic, Engine, Scope};

/// Limits that keep one expression from hurting the daemon.
const MAX_OPERATIONS: u64 = 100_000;
const MAX_CALL_LEVELS: usize = 16;
const MAX_EXPR_DEPTH: usize = 32;
const MAX_STRING_SIZE: usize = 16 * 1024;
const MAX_ARRAY_SIZE: usize = 1_024;
const MAX_MAP_SIZE: usize = 1_024;

/// Why an expression did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// What Rhai said.
    pub message: String,
    /// The unknown variable, when that is the problem.
    pub unknown_variable: Option<String>,
    /// 1-based line and column inside the expression, when known.
    pub line: Option<usize>,
    /// 1-based column inside the expression's line, when known.
    pub column: Option<usize>,
}

/// Why an expression failed while running (a recipient's step fails; the daemon never does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Rhai raised an error (type mismatch, limit exceeded, ...).
    #[error("expression failed: {0}")]
    Runtime(String),
    /// A condition produced something other than `true` or `false`.
    #[error("condition returned {0}, expected true or false")]
    NotBool(String),
}

/// The sandboxed Rhai engine all workflow expressions compile and run with.
#[derive(Clone)]
pub struct ExprEngine {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for ExprEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExprEngine").finish_non_exhaustive()
    }
}

impl Default for ExprEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl ExprEngine {
    /// An engine with the sandbox limits set.
    pub fn new() -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(MAX_OPERATIONS)
            .set_max_call_levels(MAX_CALL_LEVELS)
            .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_EXPR_DEPTH)
            .set_max_string_size(MAX_STRING_SIZE)
            .set_max_array_size(MAX_ARRAY_SIZE)
            .set_max_map_size(MAX_MAP_SIZE)
            .set_strict_variables(true);
        engine.disable_symbol("eval");
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        Self {
            engine: Arc::new(engine),
        }
    }

    /// Compiles `source` as one expression; only `variables` may be referenced.
    pub fn compile(&self, source: &str, variables: &[&str]) -> Result<Expression, CompileError> {
        let mut scope = Scope::new();
        for name in variables {
            scope.push_dynamic(*name, Dynamic::UNIT);
        }
        match self.engine.compile_expression_with_scope(&scope, source) {
            Ok(ast) => Ok(Expression {
                ast: Arc::new(ast),
                source: source.to_string(),
            }),
            Err(error) => {
                let position = error.position();
                let unknown_variable = match error.err_type() {
                    rhai::ParseErrorType::VariableUndefined(name) => Some(name.clone()),
                    _ => None,
                };
                let message = match &unknown_variable {
                    Some(name) => format!("unknown variable `{name}`"),
                    None => error.err_type().to_string().to_lowercase(),
                };
                Err(CompileError {
                    message,
                    unknown_variable,
                    line: position.line(),
                    column: position.position(),
                })
            }
        }
    }

    /// Evaluates a compiled expression against `scope`.
    pub fn eval(
        &self,
        expression: &Expression,
        scope: &mut Scope<'_>,
    ) -> Result<Dynamic, EvalError> {
        self.engine
            .eval_ast_with_scope::<Dynamic>(scope, &expression.ast)
            .map_err(|error| EvalError::Runtime(error.to_string()))
    }

    /// Evaluates a condition; anything but a boolean is an error, never a silent `false`.
    pub fn eval_bool(
        &self,
        expression: &Expression,
        scope: &mut Scope<'_>,
    ) -> Result<bool, EvalError> {
        let value = self.eval(expression, scope)?;
        value
            .as_bool()
            .map_err(|_| EvalError::NotBool(format!("{} ({})", value, value.type_name())))
    }
}

/// A compiled expression; cheap to clone and shared across tasks.
#[derive(Debug, Clone)]
pub struct Expression {
    ast: Arc<AST>,
    source: String,
}

impl Expression {
    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A workflow variable as a Rhai value of its own type (whole numbers as integers).
pub fn variable_to_dynamic(value: &crate::workflow::VariableValue) -> Dynamic {
    match value {
        crate::workflow::VariableValue::Text(text) => text.clone().into(),
        crate::workflow::VariableValue::Number(number)
            if number.fract() == 0.0 && number.abs() < 9.0e15 =>
        {
            (*number as i64).into()
        }
        crate::workflow::VariableValue::Number(number) => (*number).into(),
        crate::workflow::VariableValue::Flag(flag) => (*flag).into(),
    }
}

/// A JSON value as a Rhai value: `null` is `()`, integers stay integers.
pub fn json_to_dynamic(value: &serde_json::Value) -> Dynamic {
    match value {
        serde_json::Value::Null => Dynamic::UNIT,
        serde_json::Value::Bool(b) => (*b).into(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        serde_json::Value::String(s) => s.clone().into(),
        serde_json::Value::Array(items) => {
            items.iter().map(json_to_dynamic).collect::<Vec<_>>().into()
        }
        serde_json::Value::Object(map) => {
            let mut out = rhai::Map::new();
            for (key, value) in map {
                out.insert(key.as_str().into(), json_to_dynamic(value));
            }
            out.into()
        }
    }
}

/// A Rhai value as JSON: `()` is `null`, a non-finite float is `null`, anything that is not
/// a scalar, array or map is its text.
pub fn dynamic_to_json(value: &Dynamic) -> serde_json::Value {
    if value.is_unit() {
        serde_json::Value::Null
    } else if let Ok(b) = value.as_bool() {
        b.into()
    } else if let Ok(i) = value.as_int() {
        i.into()
    } else if let Ok(f) = value.as_float() {
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    } else if let Some(array) = value.read_lock::<rhai::Array>() {
        array.iter().map(dynamic_to_json).collect()
    } else if let Some(map) = value.read_lock::<rhai::Map>() {
        map.iter()
            .map(|(k, v)| (k.to_string(), dynamic_to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    } else {
        value.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::VariableValue;

    #[test]
    fn json_and_rhai_values_round_trip() {
        let value = serde_json::json!({
            "text": "hi", "int": 42, "float": 1.5, "flag": true, "none": null,
            "list": [1, "two"], "map": {"a": 1}
        });
        assert_eq!(dynamic_to_json(&json_to_dynamic(&value)), value);
    }

    #[test]
    fn variables_keep_their_type() {
        assert_eq!(
            variable_to_dynamic(&VariableValue::Number(3.0)).as_int(),
            Ok(3)
        );
        assert_eq!(
            variable_to_dynamic(&VariableValue::Number(2.5)).as_float(),
            Ok(2.5)
        );
        assert_eq!(
            variable_to_dynamic(&VariableValue::Flag(true)).as_bool(),
            Ok(true)
        );
    }

    fn recipient(company: &str) -> Scope<'static> {
        let mut map = rhai::Map::new();
        map.insert("company".into(), company.into());
        let mut scope = Scope::new();
        scope.push("recipient", map);
        scope
    }

    #[test]
    fn evaluates_a_filter_over_a_recipient_map() {
        let engine = ExprEngine::new();
        let filter = engine
            .compile(r#"recipient.company != """#, &["recipient"])
            .expect("compiles");
        assert_eq!(engine.eval_bool(&filter, &mut recipient("Acme")), Ok(true));
        assert_eq!(engine.eval_bool(&filter, &mut recipient("")), Ok(false));
    }

    #[test]
    fn unknown_variables_fail_compilation() {
        let engine = ExprEngine::new();
        let error = engine
            .compile("anwser == ()", &["answer", "recipient"])
            .expect_err("unknown variable");
        assert_eq!(error.unknown_variable.as_deref(), Some("anwser"));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let engine = ExprEngine::new();
        let error = engine
            .compile("recipient.company ==", &["recipient"])
            .expect_err("syntax error");
        assert!(error.column.is_some(), "{error:?}");
    }

    #[test]
    fn statements_and_eval_are_refused() {
        let engine = ExprEngine::new();
        assert!(engine.compile("let x = 1", &[]).is_err());
        assert!(engine.compile("while true {}", &[]).is_err());
        assert!(engine.compile(r#"eval("1")"#, &[]).is_err());
    }

    #[test]
    fn runaway_expressions_hit_the_limits() {
        let engine = ExprEngine::new();
        let huge = engine
            .compile(r#""x".pad(100000, "y")"#, &[])
            .expect("compiles");
        assert!(engine.eval(&huge, &mut Scope::new()).is_err());
        let range = engine
            .compile("(0..10000000).map(|x| x + 1).len()", &[])
            .expect("compiles");
        assert!(engine.eval(&range, &mut Scope::new()).is_err());
    }

    #[test]
    fn a_non_boolean_condition_is_an_error() {
        let engine = ExprEngine::new();
        let expression = engine
            .compile("recipient.company", &["recipient"])
            .expect("compiles");
        assert!(matches!(
            engine.eval_bool(&expression, &mut recipient("Acme")),
            Err(EvalError::NotBool(_))
        ));
    }
}
