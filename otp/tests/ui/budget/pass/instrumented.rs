//! #[otp::budget] on a function, an impl block and a trait; the program runs as before.
struct Grid(Vec<Vec<u32>>);

#[otp::budget]
impl Grid {
    fn total(&self) -> u32 {
        let mut sum = 0;
        for row in &self.0 {
            for cell in row {
                sum += cell;
            }
        }
        sum
    }
}

trait Count {
    fn count(&self) -> usize;
}

#[otp::budget]
trait Halve {
    fn halve(&self, mut n: u64) -> u32 {
        let mut steps = 0;
        while n > 1 {
            n /= 2;
            steps += 1;
        }
        steps
    }

    fn required(&self);
}

impl Halve for Grid {
    fn required(&self) {}
}

impl Count for Grid {
    #[otp::budget]
    fn count(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }
}

#[otp::budget]
fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn main() {
    let grid = Grid(vec![vec![1, 2], vec![3]]);
    let answer = otp::run(move || (grid.total(), grid.count(), grid.halve(1024), fib(20)));
    assert_eq!(answer, (6, 3, 10, 6765));
}
