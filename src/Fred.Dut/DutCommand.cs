namespace Fred.Dut;

/// <summary>Turns what a user names as the DUT into a command line: <c>model</c>, <c>mutant:NAME</c>, <c>bochs</c>, <c>bochs:ARGS</c>, <c>qemu</c>, <c>qemu:ARGS</c>, or any command.</summary>
public static class DutCommand
{
    /// <summary>The command that starts the model DUT shipped next to this assembly, with extra arguments.</summary>
    public static string ModelDut(string extraArgs = "") => Shipped("fred-model-dut", "the model DUT", extraArgs);

    /// <summary>The command that starts the Bochs adapter shipped next to this assembly, with extra arguments.</summary>
    public static string BochsDut(string extraArgs = "") => Shipped("fred-bochs-dut", "the Bochs adapter", extraArgs);

    /// <summary>The command that starts the QEMU adapter shipped next to this assembly, with extra arguments.</summary>
    public static string QemuDut(string extraArgs = "") => Shipped("fred-qemu-dut", "the QEMU adapter", extraArgs);

    static string Shipped(string name, string what, string extraArgs)
    {
        string dir = AppContext.BaseDirectory;
        string host = Path.Combine(dir, OperatingSystem.IsWindows() ? name + ".exe" : name);
        string dll = Path.Combine(dir, name + ".dll");
        string cmd = File.Exists(host) ? Quote(host) : File.Exists(dll) ? $"dotnet {Quote(dll)}"
            : throw new DutStartException($"{what} is not installed next to this program ({dll} is missing)");
        return extraArgs.Length == 0 ? cmd : $"{cmd} {extraArgs}";
    }

    /// <summary>Resolves a DUT name: <c>model</c>, <c>mutant:NAME</c>, <c>bochs[:ARGS]</c>, <c>qemu[:ARGS]</c> or a command line used as it is.</summary>
    public static string Resolve(string dut)
    {
        if (dut == "model") return ModelDut();
        if (dut == "bochs") return BochsDut();
        if (dut.StartsWith("bochs:", StringComparison.Ordinal)) return BochsDut(dut["bochs:".Length..]);
        if (dut == "qemu") return QemuDut();
        if (dut.StartsWith("qemu:", StringComparison.Ordinal)) return QemuDut(dut["qemu:".Length..]);
        if (dut.StartsWith("mutant:", StringComparison.Ordinal))
        {
            string name = dut["mutant:".Length..];
            if (Mutants.Find(name) is null) throw new DutStartException($"no mutant \"{name}\" (fred-conform list-mutants lists them)");
            return ModelDut($"--mutant {name}");
        }
        return dut;
    }

    static string Quote(string s) => s.Contains(' ') ? $"\"{s}\"" : s;
}
