pub mod ast;
pub mod attr;
pub mod case;
pub mod check;
pub mod ctxt;
pub mod symbol;
// The text a decimal, date or time `default` takes: the runtime's check,
// shared so that the macro refuses a literal where the type is spelled out.
#[path = "../../../orm/src/model/default_text.rs"]
#[allow(dead_code)] // `Literal::Bool` is built by generated code only
pub mod default_text;
