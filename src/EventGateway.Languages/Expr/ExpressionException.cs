namespace EventGateway.Languages.Expr;

/// <summary>
/// Raised when an expression (an Argo <c>{{=...}}</c> tag, a <c>when</c> condition or a <c>depends</c>
/// field) cannot be parsed or evaluated. The message names the expression text and the position.
/// </summary>
public sealed class ExpressionException : Exception
{
    public ExpressionException()
        : this(string.Empty, null, "invalid expression")
    {
    }

    public ExpressionException(string message)
        : this(string.Empty, null, message)
    {
    }

    public ExpressionException(string message, Exception innerException)
        : base(message, innerException)
    {
        Expression = string.Empty;
        Reason = message;
    }

    public ExpressionException(string expression, int? position, string reason, Exception? innerException = null)
        : base(Format(expression, position, reason), innerException)
    {
        Expression = expression;
        Position = position;
        Reason = reason;
    }

    /// <summary>The full text that failed.</summary>
    public string Expression { get; }

    /// <summary>Zero-based character offset of the failure inside <see cref="Expression"/>, when known.</summary>
    public int? Position { get; }

    /// <summary>The failure without the expression context, e.g. "unknown name 'inputs.parameters.x'".</summary>
    public string Reason { get; }

    /// <summary>True when the failure is a reference to a variable that is not (yet) defined.</summary>
    internal bool IsUnresolved { get; init; }

    private static string Format(string expression, int? position, string reason)
    {
        if (expression.Length == 0)
        {
            return reason;
        }

        return position is { } p
            ? $"{reason} at position {p} in expression '{expression}'"
            : $"{reason} in expression '{expression}'";
    }
}
