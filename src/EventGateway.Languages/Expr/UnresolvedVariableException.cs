namespace EventGateway.Languages.Expr;

/// <summary>Raised by strict template rendering when a <c>{{name}}</c> tag has no value.</summary>
public sealed class UnresolvedVariableException : Exception
{
    public UnresolvedVariableException()
        : this(string.Empty)
    {
    }

    public UnresolvedVariableException(string name)
        : base($"failed to resolve {{{{{name}}}}}")
    {
        Name = name;
    }

    public UnresolvedVariableException(string name, Exception innerException)
        : base($"failed to resolve {{{{{name}}}}}", innerException)
    {
        Name = name;
    }

    /// <summary>The variable name inside the tag, whitespace trimmed.</summary>
    public string Name { get; }
}
