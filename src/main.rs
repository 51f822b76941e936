fn main() {
    println!("pigsty-tui");
}
