namespace Fred.Model;

/// <summary>One step of a scenario: an event arrives or an instruction executes.</summary>
public abstract record Step
{
    /// <summary>Applies the step to a state.</summary>
    public abstract StepResult Apply(MachineState s);
}

/// <summary>An asynchronous or hardware-raised event is delivered.</summary>
public sealed record DeliverStep(Event Event) : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => Delivery.Deliver(s, Event);
    /// <inheritdoc/>
    public override string ToString() => $"deliver {Event}";
}

/// <summary>An event instruction (INT n, INT3, INT1, INTO, SYSCALL, SYSENTER) executes at RIP.</summary>
public sealed record ExecuteStep(byte[] Bytes) : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => EventInstructions.Execute(s, Bytes);
    /// <inheritdoc/>
    public override string ToString() => $"execute {Convert.ToHexString(Bytes)}";
}

/// <summary>ERETU executes.</summary>
public sealed record EretuStep : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => Eretu.Execute(s);
    /// <inheritdoc/>
    public override string ToString() => "ERETU";
}

/// <summary>ERETS executes.</summary>
public sealed record EretsStep : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => Erets.Execute(s);
    /// <inheritdoc/>
    public override string ToString() => "ERETS";
}

/// <summary>WRMSR executes.</summary>
public sealed record WrmsrStep(uint Msr, ulong Value) : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => MsrAccess.Write(s, Msr, Value);
    /// <inheritdoc/>
    public override string ToString() => $"WRMSR {Model.Msr.Name(Msr)} <- 0x{Value:X}";
}

/// <summary>MOV to CR4 executes.</summary>
public sealed record MovCr4Step(ulong Value) : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => ControlRegisters.MovToCr4(s, Value);
    /// <inheritdoc/>
    public override string ToString() => $"MOV CR4 <- 0x{Value:X}";
}

/// <summary>ADD RSP, imm: the RFC-era exit path's drop of the error code before ERET (FRED-REV-03).</summary>
public sealed record AddRspStep(int Delta) : Step
{
    /// <inheritdoc/>
    public override StepResult Apply(MachineState s) => new(s with { Rsp = s.Rsp + (ulong)(long)Delta }, Outcome.Completed);
    /// <inheritdoc/>
    public override string ToString() => $"ADD RSP, {Delta}";
}
