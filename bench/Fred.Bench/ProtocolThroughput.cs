namespace Fred.Bench;

// PROTOCOL BENCHMARK GOES HERE.
// Reserved for a protocol-throughput benchmark to be added later by someone else; nothing is implemented here on
// purpose. A benchmark class added in this file ([MemoryDiagnoser], public, non-sealed) is picked up by the switcher
// in Program.cs with no other change: `dotnet run -c Release --project bench/Fred.Bench -- --filter '*Protocol*'`.
