namespace EventGateway.Events.Sensors;

/// <summary>
/// A trigger's <c>conditions</c>: a boolean expression over dependency names with <c>&amp;&amp;</c>, <c>||</c>,
/// <c>!</c> and parentheses (Argo evaluates it with govaluate; names may contain '-' and '.', which govaluate
/// would misread, so the names are tokens here). Without conditions, every dependency is required.
/// </summary>
public sealed class TriggerConditions
{
    private readonly Node _root;

    private TriggerConditions(Node root, IReadOnlyList<string> names)
    {
        _root = root;
        Names = names;
    }

    /// <summary>The dependency names the expression mentions, in order of appearance.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>All of <paramref name="dependencies"/> AND-ed, Argo's default.</summary>
    public static TriggerConditions All(IReadOnlyList<string> dependencies) =>
        new(dependencies.Select(d => (Node)new Name(d)).Aggregate((a, b) => new And(a, b)), dependencies);

    /// <exception cref="FormatException">the text is not a condition; the message says where.</exception>
    public static TriggerConditions Parse(string text)
    {
        var parser = new Parser(text);
        var root = parser.ParseOr();
        parser.SkipSpace();
        if (!parser.AtEnd) throw parser.Error("unexpected text");
        return new TriggerConditions(root, parser.Names.Distinct(StringComparer.Ordinal).ToList());
    }

    public bool Evaluate(Func<string, bool> satisfied) => _root.Eval(satisfied);

    private abstract record Node
    {
        public abstract bool Eval(Func<string, bool> satisfied);
    }

    private sealed record Name(string Value) : Node
    {
        public override bool Eval(Func<string, bool> satisfied) => satisfied(Value);
    }

    private sealed record Not(Node Inner) : Node
    {
        public override bool Eval(Func<string, bool> satisfied) => !Inner.Eval(satisfied);
    }

    private sealed record And(Node Left, Node Right) : Node
    {
        public override bool Eval(Func<string, bool> satisfied) => Left.Eval(satisfied) && Right.Eval(satisfied);
    }

    private sealed record Or(Node Left, Node Right) : Node
    {
        public override bool Eval(Func<string, bool> satisfied) => Left.Eval(satisfied) || Right.Eval(satisfied);
    }

    private sealed class Parser(string text)
    {
        private int _pos;
        public List<string> Names { get; } = [];
        public bool AtEnd => _pos >= text.Length;

        public Node ParseOr()
        {
            var left = ParseAnd();
            while (Accept("||")) left = new Or(left, ParseAnd());
            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (Accept("&&")) left = new And(left, ParseUnary());
            return left;
        }

        private Node ParseUnary()
        {
            if (Accept("!")) return new Not(ParseUnary());
            if (Accept("("))
            {
                var inner = ParseOr();
                if (!Accept(")")) throw Error("expected ')'");
                return inner;
            }
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] is '_' or '-' or '.')) _pos++;
            if (_pos == start) throw Error(AtEnd ? "expected a dependency name at the end" : "expected a dependency name");
            var name = text[start.._pos];
            Names.Add(name);
            return new Name(name);
        }

        private bool Accept(string token)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _pos, token, 0, token.Length) != 0) return false;
            _pos += token.Length;
            return true;
        }

        public void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        public FormatException Error(string what) =>
            new($"'{text}' is not a condition: {what} at offset {_pos}; use dependency names with &&, ||, ! and parentheses");
    }
}
