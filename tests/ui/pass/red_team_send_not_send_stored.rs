// Red team, promise 5 (issue 9): "a `#[cached]` future is `Send` when its body's is,
// even when the output is not; a stored type that is not `Send` takes a
// background-store path". Here the stored part is not `Send` (it holds
// `PhantomData<Rc<()>>`) and the body's future is `Send`.
//
// BREAKS: does not compile. Observed: error[E0277]: `Rc<()>` cannot be sent between
// threads safely ... required because it appears within the type `Local` ...
// required because it's used within this `async` fn body (cached-runtime/src/cached.rs,
// `run_value`). The background-store path (`SpawnPut`) is picked correctly, but in
// `run_value` the local `stored` was borrowed (`(shape.encode)(&stored, function)`)
// and stays in scope until the end of the function: the compiler keeps the storage
// of a local that was ever borrowed across every later await (`store.put(..).await`),
// so `T` is part of the future whatever `PutMode` says. (Moving `stored` into a
// block that ends before the await, e.g. `let (stored, bytes) = { let s = stored;
// let b = encode(&s); (s, b) };`, would drop it from the future.) The same holds for
// `-> Local`, `Option<Local>` and `Result<Local, E>`, in every mode.
use std::error::Error;
use std::marker::PhantomData;
use std::rc::Rc;

use cachette::cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Local {
    v: u32,
    #[serde(skip)]
    here: PhantomData<Rc<()>>,
}

#[cached(namespace = "plain")]
async fn plain(x: u32) -> Local {
    Local { v: x, here: PhantomData }
}

#[cached(namespace = "result")]
async fn result(x: u32) -> Result<Local, Box<dyn Error>> {
    tokio::task::yield_now().await;
    Ok(Local { v: x, here: PhantomData })
}

fn assert_send<T: Send>(_: T) {}

#[tokio::main]
async fn main() {
    assert_send(plain(1));
    assert_send(result(1));
    // What users write: the value made `Send` inside the task.
    let v = tokio::spawn(async { result(2).await.map(|l| l.v).map_err(|e| e.to_string()) })
        .await
        .unwrap();
    assert_eq!(v, Ok(2));
}
