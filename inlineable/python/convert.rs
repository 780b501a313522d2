//! Every conversion between Rust and Python values, in one place: what a
//! setter accepts ([`Names`], [`Json`]) and what a result becomes
//! ([`ToPython`]).

use std::collections::BTreeMap;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// A setter's names: one `str`, or a `list` / `tuple` of them.
#[derive(Debug, Clone, Default)]
pub struct Names(pub Vec<String>);

impl<'py> FromPyObject<'_, 'py> for Names {
    type Error = PyErr;

    fn extract(value: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if value.is_instance_of::<PyString>() {
            return Ok(Names(vec![value.extract::<String>()?]));
        }
        if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
            let mut names = Vec::new();
            for item in value.try_iter()? {
                let item = item?;
                if !item.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(format!("names must be str, got {}", item.get_type().name()?)));
                }
                names.push(item.extract::<String>()?);
            }
            return Ok(Names(names));
        }
        Err(PyTypeError::new_err(format!("expected a str, list or tuple of str, got {}", value.get_type().name()?)))
    }
}

/// A JSON value given from Python (`dict`, `list`, `str`, `int`, `float`,
/// `bool`, `None`).
#[derive(Debug, Clone)]
pub struct Json(pub serde_json::Value);

impl<'py> FromPyObject<'_, 'py> for Json {
    type Error = PyErr;

    fn extract(value: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        to_json(&value).map(Json)
    }
}

fn to_json(value: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    use serde_json::Value;
    if value.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int.
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Ok(Value::from(value.extract::<u64>()?));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyTypeError::new_err("a float in JSON must be finite"));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(Value::String(value.extract::<String>()?));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in dict.iter() {
            if !k.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("JSON object keys must be str"));
            }
            map.insert(k.extract::<String>()?, to_json(&v)?);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        return value.try_iter()?.map(|item| to_json(&item?)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    Err(PyTypeError::new_err(format!("not JSON: {}", value.get_type().name()?)))
}

/// A Rust value as a Python object. Results implement it (generated), and
/// so do the values their fields hold.
pub trait ToPython {
    /// Converts, holding the GIL (`py`).
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

impl ToPython for () {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(py.None())
    }
}

impl ToPython for String {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(PyString::new(py, &self).into_any().unbind())
    }
}

impl ToPython for u64 {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.into_pyobject(py)?.into_any().unbind())
    }
}

impl ToPython for bool {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(PyBool::new(py, self).to_owned().into_any().unbind())
    }
}

impl<T: ToPython> ToPython for Option<T> {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Some(value) => value.to_python(py),
            None => Ok(py.None()),
        }
    }
}

impl<T: ToPython> ToPython for Vec<T> {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let items = self.into_iter().map(|item| item.to_python(py)).collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
}

impl<T: ToPython> ToPython for BTreeMap<String, T> {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let dict = PyDict::new(py);
        for (key, value) in self {
            dict.set_item(key, value.to_python(py)?)?;
        }
        Ok(dict.into_any().unbind())
    }
}

impl ToPython for serde_json::Value {
    fn to_python(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        use serde_json::Value;
        Ok(match self {
            Value::Null => py.None(),
            Value::Bool(b) => b.to_python(py)?,
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i.into_pyobject(py)?.into_any().unbind(),
                (None, Some(u)) => u.into_pyobject(py)?.into_any().unbind(),
                _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind(),
            },
            Value::String(s) => s.to_python(py)?,
            Value::Array(items) => items.to_python(py)?,
            Value::Object(map) => {
                let dict = PyDict::new(py);
                for (key, value) in map {
                    dict.set_item(key, value.to_python(py)?)?;
                }
                dict.into_any().unbind()
            }
        })
    }
}

/// `Name(field=value, …)` with each value's `repr()`: the `__repr__` of
/// every result class.
pub fn repr(py: Python<'_>, class: &str, fields: &[(&str, &Py<PyAny>)]) -> PyResult<String> {
    let mut out = format!("{class}(");
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        out.push_str(&value.bind(py).repr()?.extract::<String>()?);
    }
    out.push(')');
    Ok(out)
}
