//! [`Collective`] over MPI (the `mpi` feature): the processes `mpirun` starts, on one host or many
//! (docs/distributed.md).

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::CommunicatorCollectives;

use super::collective::Collective;
use crate::{Error, Result};

/// The exit status of every process when one of them gives up waiting (MPI_Abort).
const ABORT_STATUS: i32 = 3;

/// The processes of `MPI_COMM_WORLD`, summing gradients with one all-gather per step.
///
/// The sum gathers every process's buffer and adds them in rank order, so all processes hold the
/// same bits (an MPI all-reduce may add in an order of its choosing). A collective in flight
/// cannot be cancelled: when the others do not answer within the timeout (a process died,
/// hangs, or a host is gone), `on_fault` is given the error and the whole job is aborted
/// (`MPI_Abort`), which is the only way not to wait forever.
pub struct MpiCollective {
    world: SimpleCommunicator,
    timeout: Duration,
    on_fault: fn(&Error),
    gathered: RefCell<Vec<f32>>,
    sums: Cell<u64>,
    seconds: Cell<f64>,
    last_len: Cell<usize>,
    // Last: MPI is finalized when this drops, after the communicator.
    _universe: Universe,
}

/// What the sums of a run cost this process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SumStats {
    /// Sums taken (one per optimizer step).
    pub sums: u64,
    /// Wall-clock seconds spent in them, waiting for the slowest process included.
    pub seconds: f64,
    /// Bytes this process sent and received in the last sum.
    pub bytes_per_sum: u64,
}

impl MpiCollective {
    /// Initializes MPI. A process that waits more than `timeout` for the others in a sum calls
    /// `on_fault` (to print the error) and aborts the job.
    pub fn init(timeout: Duration, on_fault: fn(&Error)) -> Result<Self> {
        let universe = mpi::initialize().ok_or_else(|| {
            Error::Distributed("MPI could not be initialized (or already was)".into())
        })?;
        Ok(MpiCollective {
            world: universe.world(),
            timeout,
            on_fault,
            gathered: RefCell::new(Vec::new()),
            sums: Cell::new(0),
            seconds: Cell::new(0.0),
            last_len: Cell::new(0),
            _universe: universe,
        })
    }

    /// Ends every process of the job with `status` (after an error on this one: the others
    /// would otherwise wait for it in their next sum).
    pub fn abort(&self, status: i32) -> ! {
        self.world.abort(status)
    }

    /// The cost of the sums so far.
    pub fn stats(&self) -> SumStats {
        let len = self.last_len.get() as u64;
        let size = self.size() as u64;
        SumStats {
            sums: self.sums.get(),
            seconds: self.seconds.get(),
            // Sent once, received from each other process.
            bytes_per_sum: len * 4 * size,
        }
    }
}

impl Collective for MpiCollective {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn sum_in_rank_order(&self, buffer: &mut [f32]) -> Result<()> {
        let started = Instant::now();
        let len = buffer.len();
        let mut gathered = self.gathered.borrow_mut();
        gathered.resize(len * self.size(), 0.0);
        mpi::request::scope(|scope| {
            let mut request =
                self.world
                    .immediate_all_gather_into(scope, &buffer[..], &mut gathered[..]);
            let mut polls = 0u32;
            loop {
                match request.test() {
                    Ok(_) => return,
                    Err(pending) => request = pending,
                }
                if started.elapsed() > self.timeout {
                    (self.on_fault)(&Error::Distributed(format!(
                        "process {} of {}: the other processes did not answer within {} s \
                         (one died, hangs or lost its connection); stopping every process, the \
                         run's last checkpoint is kept",
                        self.rank(),
                        self.size(),
                        self.timeout.as_secs()
                    )));
                    self.abort(ABORT_STATUS);
                }
                // Spin briefly (a step's sum usually completes in microseconds to
                // milliseconds), then poll without holding the core.
                polls += 1;
                if polls < 10_000 {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        });
        for (i, sum) in buffer.iter_mut().enumerate() {
            *sum = gathered.iter().skip(i).step_by(len.max(1)).sum();
        }
        self.sums.set(self.sums.get() + 1);
        self.seconds
            .set(self.seconds.get() + started.elapsed().as_secs_f64());
        self.last_len.set(len);
        Ok(())
    }
}
