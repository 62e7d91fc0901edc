using Fred.Cli;
using Fred.Dut;

// fred-conform: drives a FRED implementation (a DUT) through the protocol of spec/dut-protocol.md and tells, rule by
// rule, where it differs from the model. The command line is in CommandLine.cs, the commands in Commands.cs.

return CommandLines.Invoke(CommandLine.Build(), args);
