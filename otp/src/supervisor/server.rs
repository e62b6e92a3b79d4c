//! The supervisor process: a GenServer that traps exits, starts its children in order, restarts
//! them by its strategy, and stops them in reverse order.
//!
//! Invariants:
//! * `children` is in start order; a child's `pid` is `Some` exactly while it runs (the
//!   supervisor is linked to it and will get its `EXIT`).
//! * Every restart counts against the intensity *before* it happens, once per exit however
//!   many children the strategy restarts (and once more per failed start retried); exceeding
//!   it stops the supervisor with `shutdown`, and `terminate` then stops the remaining children
//!   in reverse order, so the supervisor's parent sees the failure (escalation).
//! * A child stopped by the supervisor itself (strategy, `terminate_child`, shutdown) is unlinked
//!   first, so its exit is never mistaken for a crash.

use std::{convert::Infallible, sync::Arc, time::Instant};

use super::{
    intensity::Intensity,
    shutdown::shutdown_child,
    spec::{ChildCounts, ChildError, ChildInfo, ChildSpec, ChildType, FailedToStartChild, Restart},
    Options, Strategy,
};
use crate::{
    gen_server::{CallResult, CastResult, From, GenServer, Info, InitResult},
    process::{self, AnyPid, ExitReason},
};

/// One child: its spec and, while it runs, its process.
struct ChildState {
    spec: ChildSpec,
    pid: Option<AnyPid>,
}

/// The supervisor's state.
pub(crate) struct SupervisorServer {
    strategy: Strategy,
    intensity: Intensity,
    children: Vec<ChildState>,
}

/// What a supervisor is asked.
pub(crate) enum Request {
    WhichChildren,
    CountChildren,
    StartChild(ChildSpec),
    TerminateChild(String),
    RestartChild(String),
    DeleteChild(String),
}

/// What it answers.
pub(crate) enum Response {
    Children(Vec<ChildInfo>),
    Counts(ChildCounts),
    Started(Result<Option<AnyPid>, ChildError>),
    Done(Result<(), ChildError>),
}

impl SupervisorServer {
    pub(crate) fn new(children: Vec<ChildSpec>, options: &Options) -> SupervisorServer {
        SupervisorServer {
            strategy: options.strategy,
            intensity: Intensity::new(options.max_restarts, options.max_seconds),
            children: children
                .into_iter()
                .map(|spec| ChildState { spec, pid: None })
                .collect(),
        }
    }

    fn index_of_id(&self, id: &str) -> Option<usize> {
        self.children.iter().position(|c| &*c.spec.id == id)
    }

    fn index_of_pid(&self, pid: &AnyPid) -> Option<usize> {
        self.children
            .iter()
            .position(|c| c.pid.as_ref() == Some(pid))
    }

    /// Stops the running children among `indices`, last first.
    fn stop_children(&mut self, indices: impl DoubleEndedIterator<Item = usize>) {
        for i in indices.rev() {
            let child = &mut self.children[i];
            if let Some(pid) = child.pid.take() {
                shutdown_child(&pid, child.spec.shutdown);
            }
        }
    }

    /// A child exited on its own (or crashed): restart what the strategy says, or give up.
    fn child_exited(&mut self, i: usize, reason: &ExitReason) -> CastResult {
        let child = &mut self.children[i];
        child.pid = None;
        tracing::debug!(child = %child.spec.id, %reason, "child terminated");
        if !child.spec.restart.restarts_after(reason) {
            if child.spec.restart == Restart::Temporary {
                self.children.remove(i);
            }
            return CastResult::noreply();
        }
        // One restart, however many children the strategy restarts with it (OTP's
        // `add_restart`, once per exit).
        if !self.intensity.add(Instant::now()) {
            tracing::debug!(child = %self.children[i].spec.id, "reached max restart intensity; shutting down");
            return CastResult::Stop(ExitReason::Shutdown);
        }
        // The children to restart, in start order: the failed one plus, by strategy, the ones
        // that must go with it.
        let group: Vec<usize> = match self.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..self.children.len()).collect(),
            Strategy::RestForOne => (i..self.children.len()).collect(),
        };
        let temporary = |c: &ChildState| c.spec.restart == Restart::Temporary;
        // Restarted, in start order: every non-temporary child of the group, whether it was
        // running or not (a child stopped with `terminate_child`, a transient one that had
        // exited normally), as OTP's `start_children` does. Temporary ones are stopped and
        // forgotten.
        let keep: Vec<Arc<str>> = group
            .iter()
            .map(|&j| &self.children[j])
            .filter(|c| !temporary(c))
            .map(|c| c.spec.id.clone())
            .collect();
        let forget: Vec<Arc<str>> = group
            .iter()
            .map(|&j| &self.children[j])
            .filter(|c| temporary(c))
            .map(|c| c.spec.id.clone())
            .collect();
        self.stop_children(group.into_iter().filter(|&j| j != i));
        self.children.retain(|c| !forget.contains(&c.spec.id));
        for id in keep {
            let Some(j) = self.index_of_id(&id) else {
                continue;
            };
            match self.intensity.restart(&self.children[j].spec) {
                Ok(pid) => self.children[j].pid = pid,
                Err(reason) => return CastResult::Stop(reason),
            }
        }
        CastResult::noreply()
    }

    fn which_children(&self) -> Vec<ChildInfo> {
        self.children
            .iter()
            .map(|c| ChildInfo {
                id: Some(c.spec.id.to_string()),
                pid: c.pid.clone(),
                kind: c.spec.kind,
            })
            .collect()
    }

    fn count_children(&self) -> ChildCounts {
        let supervisors = self
            .children
            .iter()
            .filter(|c| c.spec.kind == ChildType::Supervisor)
            .count();
        ChildCounts {
            specs: self.children.len(),
            active: self.children.iter().filter(|c| c.pid.is_some()).count(),
            supervisors,
            workers: self.children.len() - supervisors,
        }
    }

    fn start_child(&mut self, spec: ChildSpec) -> Result<Option<AnyPid>, ChildError> {
        if let Some(i) = self.index_of_id(&spec.id) {
            return Err(match &self.children[i].pid {
                Some(pid) => ChildError::AlreadyStarted(pid.clone()),
                None => ChildError::AlreadyPresent,
            });
        }
        let pid = (spec.start)().map_err(ChildError::Start)?;
        // As in OTP, a temporary child that ignored its start is not kept.
        if pid.is_some() || spec.restart != Restart::Temporary {
            self.children.push(ChildState {
                spec,
                pid: pid.clone(),
            });
        }
        Ok(pid)
    }

    fn terminate_child(&mut self, id: &str) -> Result<(), ChildError> {
        let i = self.index_of_id(id).ok_or(ChildError::NotFound)?;
        self.stop_children(std::iter::once(i));
        if self.children[i].spec.restart == Restart::Temporary {
            self.children.remove(i);
        }
        Ok(())
    }

    fn restart_child(&mut self, id: &str) -> Result<Option<AnyPid>, ChildError> {
        let i = self.index_of_id(id).ok_or(ChildError::NotFound)?;
        if self.children[i].pid.is_some() {
            return Err(ChildError::Running);
        }
        let pid = (self.children[i].spec.start)().map_err(ChildError::Start)?;
        self.children[i].pid = pid.clone();
        Ok(pid)
    }

    fn delete_child(&mut self, id: &str) -> Result<(), ChildError> {
        let i = self.index_of_id(id).ok_or(ChildError::NotFound)?;
        if self.children[i].pid.is_some() {
            return Err(ChildError::Running);
        }
        self.children.remove(i);
        Ok(())
    }
}

impl GenServer for SupervisorServer {
    type Call = Request;
    type Reply = Response;
    type Cast = Infallible;
    type Info = Infallible;
    type Continue = ();

    fn init(&mut self) -> InitResult {
        process::trap_exit(true);
        for i in 0..self.children.len() {
            match (self.children[i].spec.start)() {
                Ok(pid) => self.children[i].pid = pid,
                Err(error) => {
                    self.stop_children(0..i);
                    let id = self.children[i].spec.id.to_string();
                    tracing::debug!(child = %id, %error, "child failed to start");
                    return InitResult::Stop(ExitReason::shutdown_with(FailedToStartChild {
                        id,
                        error,
                    }));
                }
            }
        }
        // A temporary child that ignored its start is not kept (OTP's `start_children`).
        self.children
            .retain(|c| c.pid.is_some() || c.spec.restart != Restart::Temporary);
        InitResult::ok()
    }

    fn handle_call(&mut self, request: Request, _: From<Response>) -> CallResult<Response> {
        CallResult::reply(match request {
            Request::WhichChildren => Response::Children(self.which_children()),
            Request::CountChildren => Response::Counts(self.count_children()),
            Request::StartChild(spec) => Response::Started(self.start_child(spec)),
            Request::TerminateChild(id) => Response::Done(self.terminate_child(&id)),
            Request::RestartChild(id) => Response::Started(self.restart_child(&id)),
            Request::DeleteChild(id) => Response::Done(self.delete_child(&id)),
        })
    }

    fn handle_info(&mut self, info: Info<Infallible>) -> CastResult {
        match info {
            Info::Exit { from, reason } => match self.index_of_pid(&from) {
                Some(i) => self.child_exited(i, &reason),
                // Not a child (any more): OTP ignores it too.
                None => CastResult::noreply(),
            },
            _ => CastResult::noreply(),
        }
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        self.stop_children(0..self.children.len());
    }
}
