namespace EventGateway.Languages.GoTemplates;

/// <summary>A Go template failed to parse or execute; the message follows Go's "template: name:line:col: ..." shape.</summary>
public sealed class GoTemplateException : Exception
{
    public GoTemplateException(string message)
        : base(message)
    {
    }

    public GoTemplateException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>Failure raised while parsing or executing, carrying the offending offset; the template adds name and line.</summary>
internal sealed class GoTemplateError : Exception
{
    public GoTemplateError(string reason, int position = -1)
        : base(reason)
    {
        Position = position;
    }

    public int Position { get; }
}
