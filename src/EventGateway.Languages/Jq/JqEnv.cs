namespace EventGateway.Languages.Jq;

/// <summary>
/// Per-run limits and clock: every program run gets its own, so one runaway event cannot starve the others.
/// Budget and depth failures are <see cref="TransformException"/>s, which <c>try</c> cannot catch.
/// </summary>
internal sealed class JqRun(long maxSteps, TimeProvider time)
{
    /// <summary>User-defined function calls nested deeper than this fail (the evaluator recurses on the C# stack).</summary>
    public const int MaxCallDepth = 200;

    private long steps;

    public TimeProvider Time { get; } = time;

    public int CallDepth { get; set; }

    /// <summary>Counts work (outputs, iterations, elements copied); fails once the budget is spent.</summary>
    public void Tick(long n = 1)
    {
        steps += n;
        if (steps > maxSteps)
        {
            throw new TransformException($"jq program exceeded its budget of {maxSteps} steps");
        }
    }
}

/// <summary>A user function: <c>def name(params): body;</c>. A <c>$name</c> parameter binds both <c>$name</c> and <c>name</c>.</summary>
internal sealed record JqFunction(string Name, IReadOnlyList<(string Name, bool IsValue)> Params, JqNode Body)
{
    public string Key => $"{Name}/{Params.Count}";
}

/// <summary>Lexical environment as an immutable chain: variables, function definitions and closure parameters.</summary>
internal sealed class JqEnv
{
    private readonly JqEnv? parent;
    private readonly string? varName;
    private readonly object? varValue;
    private readonly JqFunction? function;
    private readonly string? closureName;
    private readonly JqNode? closureBody;
    private readonly JqEnv? closureEnv;

    private JqEnv(JqEnv? parent, JqRun run, string? varName = null, object? varValue = null, JqFunction? function = null,
        string? closureName = null, JqNode? closureBody = null, JqEnv? closureEnv = null)
    {
        this.parent = parent;
        Run = run;
        this.varName = varName;
        this.varValue = varValue;
        this.function = function;
        this.closureName = closureName;
        this.closureBody = closureBody;
        this.closureEnv = closureEnv;
    }

    public JqRun Run { get; }

    public static JqEnv Root(JqRun run) => new(null, run);

    public JqEnv BindVar(string name, object? value) => new(this, Run, varName: name, varValue: value);

    public JqEnv BindFunction(JqFunction f) => new(this, Run, function: f);

    public JqEnv BindClosure(string name, JqNode body, JqEnv env) => new(this, Run, closureName: name, closureBody: body, closureEnv: env);

    /// <summary>The parser checked that the variable is in scope, so a miss is a bug.</summary>
    public object? Var(string name)
    {
        for (var e = this; e is not null; e = e.parent)
        {
            if (e.varName == name)
            {
                return e.varValue;
            }
        }

        throw new InvalidOperationException($"${name} is not bound");
    }

    /// <summary>Finds a user function or closure parameter; the definition's own environment node is returned for recursion.</summary>
    public (JqFunction? Function, JqEnv Scope, JqNode? ClosureBody, JqEnv? ClosureEnv) Function(string name, int arity)
    {
        for (var e = this; e is not null; e = e.parent)
        {
            if (e.function is { } f && f.Name == name && f.Params.Count == arity)
            {
                return (f, e, null, null);
            }

            if (arity == 0 && e.closureName == name)
            {
                return (null, e, e.closureBody, e.closureEnv);
            }
        }

        throw new InvalidOperationException($"{name}/{arity} is not bound");
    }
}
