namespace EventGateway.Events.Sensors.Parameters;

/// <summary>
/// A trigger parameter could not be resolved or applied. <see cref="Index"/> is the parameter's position in the
/// trigger's list when known, so the message reads <c>parameters[1]: dest "spec.x.-2" ...</c>.
/// </summary>
public sealed class ParameterException : Exception
{
    public ParameterException(int? index, string reason)
        : base(index is { } i ? $"parameters[{i}]: {reason}" : reason)
    {
        Index = index;
        Reason = reason;
    }

    public ParameterException()
        : this(null, "parameter failed")
    {
    }

    public ParameterException(string message)
        : this(null, message)
    {
    }

    public ParameterException(string message, Exception inner)
        : base(message, inner)
    {
        Reason = message;
    }

    public int? Index { get; }

    public string Reason { get; }
}
