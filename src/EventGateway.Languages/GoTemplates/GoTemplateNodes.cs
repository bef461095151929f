namespace EventGateway.Languages.GoTemplates;

/// <summary>Parse tree of a Go text/template; <c>Pos</c> is the byte offset used in error locations.</summary>
internal abstract record GoTemplateNode(int Pos);

internal sealed record TextNode(int Pos, string Text) : GoTemplateNode(Pos);

internal sealed record ListNode(int Pos, IReadOnlyList<GoTemplateNode> Nodes) : GoTemplateNode(Pos);

internal sealed record ActionNode(int Pos, PipeNode Pipe) : GoTemplateNode(Pos);

/// <summary>if / with / range: the shared "pipeline, body, optional else" shape.</summary>
internal sealed record BranchNode(int Pos, string Keyword, PipeNode Pipe, ListNode Body, ListNode? Else) : GoTemplateNode(Pos);

internal sealed record LoopControlNode(int Pos, bool IsBreak) : GoTemplateNode(Pos);

internal sealed record PipeNode(int Pos, IReadOnlyList<string> Variables, bool IsAssign, IReadOnlyList<CommandNode> Commands) : GoTemplateNode(Pos)
{
    public override string ToString()
    {
        var decl = Variables.Count == 0 ? string.Empty : string.Join(", ", Variables) + (IsAssign ? " = " : " := ");
        return decl + string.Join(" | ", Commands);
    }
}

internal sealed record CommandNode(int Pos, IReadOnlyList<GoTemplateNode> Args) : GoTemplateNode(Pos)
{
    public override string ToString() =>
        string.Join(' ', Args.Select(a => a is PipeNode ? "(" + a + ")" : a.ToString()));
}

internal sealed record FieldNode(int Pos, IReadOnlyList<string> Fields) : GoTemplateNode(Pos)
{
    public override string ToString() => string.Concat(Fields.Select(f => "." + f));
}

internal sealed record VariableNode(int Pos, string Name, IReadOnlyList<string> Fields) : GoTemplateNode(Pos)
{
    public override string ToString() => Name + string.Concat(Fields.Select(f => "." + f));
}

internal sealed record ChainNode(int Pos, GoTemplateNode Target, IReadOnlyList<string> Fields) : GoTemplateNode(Pos)
{
    public override string ToString() =>
        (Target is PipeNode ? "(" + Target + ")" : Target.ToString()) + string.Concat(Fields.Select(f => "." + f));
}

internal sealed record IdentifierNode(int Pos, string Name) : GoTemplateNode(Pos)
{
    public override string ToString() => Name;
}

internal sealed record DotNode(int Pos) : GoTemplateNode(Pos)
{
    public override string ToString() => ".";
}

internal sealed record NilNode(int Pos) : GoTemplateNode(Pos)
{
    public override string ToString() => "nil";
}

/// <summary>A literal constant: bool, string, long (Go int) or double (Go float64).</summary>
internal sealed record LiteralNode(int Pos, object Value, string Source) : GoTemplateNode(Pos)
{
    public override string ToString() => Source;
}
