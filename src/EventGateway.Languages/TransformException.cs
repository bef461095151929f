namespace EventGateway.Languages;

/// <summary>
/// A jq transform, a Lua transform or a Lua script filter could not be compiled or run. The message says what
/// failed and why (a syntax error with its place, a jq runtime error, a Lua error, an exceeded budget).
/// </summary>
public sealed class TransformException : Exception
{
    public TransformException(string message)
        : base(message)
    {
    }

    public TransformException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>0-based offset of a jq syntax error in the program text; null for every other failure.</summary>
    public int? Position { get; init; }
}
