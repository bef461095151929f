namespace EventGateway.Languages.Jq;

/// <summary>
/// Recursive-descent parser for the jq language, with jq's precedence (lowest first): <c>|</c>, <c>,</c>,
/// <c>//</c>, assignments, <c>or</c>, <c>and</c>, comparisons, <c>+ -</c>, <c>* / %</c>, unary minus, postfix
/// terms. Names are resolved while parsing, so an unknown function or variable is a load-time error.
/// </summary>
internal sealed class JqParser
{
    private const int MaxNesting = 100;

    private static readonly HashSet<string> Keywords =
    [
        "def", "if", "then", "elif", "else", "end", "as", "reduce", "foreach", "try", "catch", "label", "import",
        "include", "and", "or", "__loc__",
    ];

    private static readonly HashSet<string> Comparisons = ["==", "!=", "<", "<=", ">", ">="];

    private static readonly HashSet<string> Assignments = ["=", "|=", "+=", "-=", "*=", "/=", "%=", "//="];

    private readonly List<Token> tokens;
    private readonly string text;
    private Scope scope;
    private int index;
    private int nesting;

    private JqParser(List<Token> tokens, string text, Scope scope)
    {
        this.tokens = tokens;
        this.text = text;
        this.scope = scope;
    }

    private Token Current => tokens[index];

    public static JqNode Parse(string text)
    {
        var parser = new JqParser(JqLexer.Tokenize(text), text, Scope.Empty);
        return parser.ParseAll();
    }

    public static TransformException Error(int pos, string reason) => new($"{reason} (at position {pos})") { Position = pos };

    private TransformException Unexpected(string? expected = null) =>
        Error(Current.Pos, $"syntax error: unexpected {Current.Describe()}{(expected is null ? string.Empty : $", expected {expected}")}");

    private JqNode ParseAll()
    {
        var node = ParsePipe(noComma: false);
        if (Current.Kind != TokenKind.Eof)
        {
            throw Unexpected(Current.Is(")") || Current.Is("]") || Current.Is("}") ? "no closing bracket here" : null);
        }

        return node;
    }

    private Token Advance() => tokens[index++];

    private bool Accept(string punct)
    {
        if (Current.Is(punct))
        {
            index++;
            return true;
        }

        return false;
    }

    private bool AcceptKeyword(string word)
    {
        if (Current.IsKeyword(word))
        {
            index++;
            return true;
        }

        return false;
    }

    private void Expect(string punct)
    {
        if (!Accept(punct))
        {
            throw Unexpected($"'{punct}'");
        }
    }

    private void ExpectKeyword(string word)
    {
        if (!AcceptKeyword(word))
        {
            throw Unexpected($"'{word}'");
        }
    }

    private T Nested<T>(Func<T> parse)
    {
        if (++nesting > MaxNesting)
        {
            throw Error(Current.Pos, $"program nested deeper than {MaxNesting} levels");
        }

        try
        {
            return parse();
        }
        finally
        {
            nesting--;
        }
    }

    private T InScope<T>(Scope inner, Func<T> parse)
    {
        var saved = scope;
        scope = inner;
        try
        {
            return parse();
        }
        finally
        {
            scope = saved;
        }
    }

    private JqNode ParsePipe(bool noComma) => Nested(() =>
    {
        if (Current.IsKeyword("def"))
        {
            return ParseDefinitionThen(() => ParsePipe(noComma));
        }

        var pos = Current.Pos;
        var left = noComma ? ParseAlternative() : ParseComma();
        return Accept("|") ? new PipeNode(pos, left, ParsePipe(noComma)) : left;
    });

    private JqNode ParseComma()
    {
        var left = ParseAlternative();
        while (Current.Is(","))
        {
            var pos = Advance().Pos;
            left = new CommaNode(pos, left, ParseAlternative());
        }

        return left;
    }

    private JqNode ParseAlternative()
    {
        var left = ParseAssignment();
        if (Current.Is("//"))
        {
            var pos = Advance().Pos;
            return new AlternativeNode(pos, left, ParseAlternative());
        }

        return left;
    }

    private JqNode ParseAssignment()
    {
        var left = ParseOr();
        if (Current.Kind == TokenKind.Punct && Assignments.Contains(Current.Text))
        {
            var op = Advance();
            var right = ParseOr();
            if (Current.Kind == TokenKind.Punct && Assignments.Contains(Current.Text))
            {
                throw Unexpected("assignments do not chain: add parentheses");
            }

            return new AssignNode(op.Pos, op.Text, left, right);
        }

        return left;
    }

    private JqNode ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsKeyword("or"))
        {
            var pos = Advance().Pos;
            left = new AndOrNode(pos, isAnd: false, left, ParseAnd());
        }

        return left;
    }

    private JqNode ParseAnd()
    {
        var left = ParseComparison();
        while (Current.IsKeyword("and"))
        {
            var pos = Advance().Pos;
            left = new AndOrNode(pos, isAnd: true, left, ParseComparison());
        }

        return left;
    }

    private JqNode ParseComparison()
    {
        var left = ParseAdditive();
        if (Current.Kind == TokenKind.Punct && Comparisons.Contains(Current.Text))
        {
            var op = Advance();
            var right = ParseAdditive();
            if (Current.Kind == TokenKind.Punct && Comparisons.Contains(Current.Text))
            {
                throw Unexpected("comparisons do not chain: add parentheses");
            }

            return new BinaryNode(op.Pos, op.Text, left, right);
        }

        return left;
    }

    private JqNode ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Current.Is("+") || Current.Is("-"))
        {
            var op = Advance();
            left = new BinaryNode(op.Pos, op.Text, left, ParseMultiplicative());
        }

        return left;
    }

    private JqNode ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Current.Is("*") || Current.Is("/") || Current.Is("%"))
        {
            var op = Advance();
            left = new BinaryNode(op.Pos, op.Text, left, ParseUnary());
        }

        return left;
    }

    private JqNode ParseUnary()
    {
        if (Current.Is("-"))
        {
            var pos = Advance().Pos;
            return new NegateNode(pos, Nested(ParseUnary));
        }

        return ParsePostfix(allowAs: true);
    }

    /// <summary>A term and its suffixes: <c>.a</c>, <c>."a"</c>, <c>[e]</c>, <c>[]</c>, <c>[a:b]</c>, <c>?</c>, and <c>as $x | body</c>.</summary>
    private JqNode ParsePostfix(bool allowAs)
    {
        var term = ParsePrimary();
        while (true)
        {
            var pos = Current.Pos;
            if (Current.Kind == TokenKind.Field)
            {
                term = new IndexNode(pos, term, new LiteralNode(pos, Advance().Text));
            }
            else if (Current.Is(".") && tokens[index + 1].Kind == TokenKind.String)
            {
                Advance();
                term = new IndexNode(pos, term, ParseStringToken(Advance(), null));
            }
            else if (Current.Is(".") && tokens[index + 1].Is("["))
            {
                Advance();
            }
            else if (Current.Is("["))
            {
                term = ParseBracketSuffix(term);
            }
            else if (Current.Is("?"))
            {
                Advance();
                term = new TryNode(pos, term, null);
            }
            else if (Current.Is("?//"))
            {
                // ".a?//1" is ".a? // 1": split the token rather than report an unsupported "?//".
                tokens[index] = new Token(TokenKind.Punct, "//", pos + 1);
                term = new TryNode(pos, term, null);
            }
            else if (allowAs && Current.IsKeyword("as"))
            {
                Advance();
                var pattern = ParsePatterns();
                Expect("|");
                var body = InScope(scope.WithVars(pattern.Variables()), () => ParsePipe(noComma: false));
                return new AsNode(pos, term, pattern, body);
            }
            else
            {
                return term;
            }
        }
    }

    private JqNode ParseBracketSuffix(JqNode term)
    {
        var pos = Advance().Pos;
        if (Accept("]"))
        {
            return new IterateNode(pos, term);
        }

        if (Accept(":"))
        {
            var upper = ParsePipe(noComma: false);
            Expect("]");
            return new SliceNode(pos, term, null, upper);
        }

        var first = ParsePipe(noComma: false);
        if (Accept(":"))
        {
            JqNode? to = Current.Is("]") ? null : ParsePipe(noComma: false);
            Expect("]");
            return new SliceNode(pos, term, first, to);
        }

        Expect("]");
        return new IndexNode(pos, term, first);
    }

    private JqNode ParsePrimary() => Nested(() =>
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Number:
                Advance();
                return new LiteralNode(t.Pos, t.Number);
            case TokenKind.String:
                Advance();
                return ParseStringToken(t, null);
            case TokenKind.Format:
                Advance();
                JqFormats.Check(t.Text, t.Pos);
                if (Current.Kind == TokenKind.String)
                {
                    return ParseStringToken(Advance(), t.Text);
                }

                return new FormatNode(t.Pos, t.Text);
            case TokenKind.Field:
                Advance();
                return new IndexNode(t.Pos, new IdentityNode(t.Pos), new LiteralNode(t.Pos, t.Text));
            case TokenKind.Var:
                Advance();
                return ParseVariable(t);
            case TokenKind.Ident:
                return ParseIdentifier();
            case TokenKind.Punct:
                return ParsePunctuation();
            default:
                throw Unexpected("a value or filter");
        }
    });

    private JqNode ParseVariable(Token t)
    {
        if (t.Text == "__loc__")
        {
            var line = text.Take(t.Pos).Count(c => c == '\n') + 1;
            return new LiteralNode(t.Pos, new JqObject { ["file"] = "<stdin>", ["line"] = (double)line });
        }

        if (scope.HasVar(t.Text))
        {
            return new VarNode(t.Pos, t.Text);
        }

        if (t.Text == "ENV")
        {
            // The gateway's process environment holds secrets: transforms see an empty $ENV.
            return new LiteralNode(t.Pos, new JqObject());
        }

        throw Error(t.Pos, $"${t.Text} is not defined");
    }

    private JqNode ParsePunctuation()
    {
        var t = Current;
        if (t.Is("."))
        {
            Advance();
            if (Current.Kind == TokenKind.String)
            {
                return new IndexNode(t.Pos, new IdentityNode(t.Pos), ParseStringToken(Advance(), null));
            }

            return new IdentityNode(t.Pos);
        }

        if (t.Is(".."))
        {
            Advance();
            return new RecurseNode(t.Pos);
        }

        if (t.Is("("))
        {
            Advance();
            var inner = ParsePipe(noComma: false);
            Expect(")");
            return inner;
        }

        if (t.Is("["))
        {
            Advance();
            if (Accept("]"))
            {
                return new ArrayNode(t.Pos, null);
            }

            var body = ParsePipe(noComma: false);
            Expect("]");
            return new ArrayNode(t.Pos, body);
        }

        if (t.Is("{"))
        {
            return ParseObject();
        }

        if (t.Is("?//"))
        {
            throw Error(t.Pos, "destructuring alternatives (?//) are not supported");
        }

        throw Unexpected("a value or filter");
    }

    private JqNode ParseIdentifier()
    {
        var t = Current;
        switch (t.Text)
        {
            case "if":
                return ParseIf();
            case "try":
            {
                Advance();
                var body = ParsePostfix(allowAs: false);
                JqNode? handler = AcceptKeyword("catch") ? ParsePostfix(allowAs: false) : null;
                return new TryNode(t.Pos, body, handler);
            }

            case "reduce":
            case "foreach":
                return ParseFold();
            case "def":
                return ParseDefinitionThen(() => ParsePipe(noComma: false));
            case "label":
                throw Error(t.Pos, "label/break are not supported; use first(f) or limit(n; f)");
            case "import":
            case "include":
                throw Error(t.Pos, "modules (import/include) are not supported");
        }

        if (Keywords.Contains(t.Text))
        {
            throw Unexpected("a value or filter");
        }

        Advance();
        var args = new List<JqNode>();
        if (Accept("("))
        {
            do
            {
                args.Add(ParsePipe(noComma: false));
            }
            while (Accept(";"));
            Expect(")");
        }

        if (args.Count == 0 && t.Text is "true" or "false" or "null" && !scope.HasFunction($"{t.Text}/0"))
        {
            return new LiteralNode(t.Pos, t.Text == "null" ? null : t.Text == "true");
        }

        var key = $"{t.Text}/{args.Count}";
        if (scope.HasFunction(key))
        {
            return new UserCallNode(t.Pos, t.Text, args);
        }

        if (JqBuiltins.Find(t.Text, args.Count) is { } builtin)
        {
            return new BuiltinCallNode(t.Pos, t.Text, builtin, [.. args]);
        }

        throw Error(t.Pos, $"{key} is not defined");
    }

    private JqNode ParseIf()
    {
        var pos = Advance().Pos;
        var condition = ParsePipe(noComma: false);
        ExpectKeyword("then");
        var then = ParsePipe(noComma: false);
        JqNode? otherwise = null;
        if (Current.IsKeyword("elif"))
        {
            otherwise = ParseIf();
            return new IfNode(pos, condition, then, otherwise);
        }

        if (AcceptKeyword("else"))
        {
            otherwise = ParsePipe(noComma: false);
        }

        ExpectKeyword("end");
        return new IfNode(pos, condition, then, otherwise);
    }

    private JqNode ParseFold()
    {
        var t = Advance();
        var source = ParsePostfix(allowAs: false);
        ExpectKeyword("as");
        var pattern = ParsePatterns();
        Expect("(");
        var init = ParsePipe(noComma: false);
        Expect(";");
        return InScope(scope.WithVars(pattern.Variables()), () =>
        {
            var update = ParsePipe(noComma: false);
            JqNode? extract = null;
            if (t.Text == "foreach" && Accept(";"))
            {
                extract = ParsePipe(noComma: false);
            }

            Expect(")");
            return t.Text == "reduce"
                ? new ReduceNode(t.Pos, source, pattern, init, update)
                : (JqNode)new ForeachNode(t.Pos, source, pattern, init, update, extract);
        });
    }

    private JqPattern ParsePatterns()
    {
        var pattern = ParsePattern();
        if (Current.Is("?//"))
        {
            throw Error(Current.Pos, "destructuring alternatives (?//) are not supported");
        }

        return pattern;
    }

    private JqPattern ParsePattern()
    {
        var t = Current;
        if (t.Kind == TokenKind.Var)
        {
            Advance();
            return new VarPattern(t.Text);
        }

        if (Accept("["))
        {
            var items = new List<JqPattern>();
            do
            {
                items.Add(ParsePattern());
            }
            while (Accept(","));
            Expect("]");
            return new ArrayPattern(items);
        }

        if (Accept("{"))
        {
            var entries = new List<(string?, JqNode?, JqPattern?)>();
            do
            {
                var k = Current;
                if (k.Kind == TokenKind.Var)
                {
                    Advance();
                    entries.Add((k.Text, null, Accept(":") ? ParsePattern() : null));
                    continue;
                }

                JqNode key;
                if (k.Kind == TokenKind.Ident)
                {
                    Advance();
                    key = new LiteralNode(k.Pos, k.Text);
                }
                else if (k.Kind == TokenKind.String)
                {
                    Advance();
                    key = ParseStringToken(k, null);
                }
                else if (Accept("("))
                {
                    key = ParsePipe(noComma: false);
                    Expect(")");
                }
                else
                {
                    throw Unexpected("an object pattern key");
                }

                Expect(":");
                entries.Add((null, key, ParsePattern()));
            }
            while (Accept(","));
            Expect("}");
            return new ObjectPattern(entries);
        }

        throw Unexpected("a pattern ($name, [...] or {...})");
    }

    private JqNode ParseObject()
    {
        var pos = Advance().Pos;
        var entries = new List<(JqNode, JqNode)>();
        if (Accept("}"))
        {
            return new ObjectNode(pos, entries);
        }

        do
        {
            var k = Current;
            switch (k.Kind)
            {
                case TokenKind.Var:
                    Advance();
                    entries.Add((new LiteralNode(k.Pos, k.Text), ParseVariable(k)));
                    continue;
                case TokenKind.Ident:
                    Advance();
                    var name = new LiteralNode(k.Pos, k.Text);
                    entries.Add((name, Accept(":") ? ParseObjectValue() : new IndexNode(k.Pos, new IdentityNode(k.Pos), name)));
                    continue;
                case TokenKind.String:
                case TokenKind.Format:
                    Advance();
                    JqNode key;
                    if (k.Kind == TokenKind.Format)
                    {
                        JqFormats.Check(k.Text, k.Pos);
                        if (Current.Kind != TokenKind.String)
                        {
                            throw Unexpected("a string after the format");
                        }

                        key = ParseStringToken(Advance(), k.Text);
                    }
                    else
                    {
                        key = ParseStringToken(k, null);
                    }

                    entries.Add((key, Accept(":") ? ParseObjectValue() : new IndexNode(k.Pos, new IdentityNode(k.Pos), key)));
                    continue;
            }

            if (Accept("("))
            {
                var key = ParsePipe(noComma: false);
                Expect(")");
                Expect(":");
                entries.Add((key, ParseObjectValue()));
                continue;
            }

            throw Unexpected("an object key");
        }
        while (Accept(","));
        Expect("}");
        return new ObjectNode(pos, entries);
    }

    // jq allows only a restricted expression here; anything short of a comma is accepted.
    private JqNode ParseObjectValue() => ParsePipe(noComma: true);

    private JqNode ParseDefinitionThen(Func<JqNode> parseRest)
    {
        var pos = Advance().Pos;
        var nameToken = Current;
        if (nameToken.Kind != TokenKind.Ident || Keywords.Contains(nameToken.Text))
        {
            throw Unexpected("a function name");
        }

        Advance();
        var parameters = new List<(string, bool)>();
        if (Accept("("))
        {
            do
            {
                var p = Advance();
                if (p.Kind is not (TokenKind.Ident or TokenKind.Var))
                {
                    index--;
                    throw Unexpected("a parameter name");
                }

                parameters.Add((p.Text, p.Kind == TokenKind.Var));
            }
            while (Accept(";"));
            Expect(")");
        }

        Expect(":");
        var key = $"{nameToken.Text}/{parameters.Count}";
        var bodyScope = scope.WithFunction(key);
        foreach (var (p, isValue) in parameters)
        {
            bodyScope = bodyScope.WithFunction($"{p}/0");
            if (isValue)
            {
                bodyScope = bodyScope.WithVars([p]);
            }
        }

        var body = InScope(bodyScope, () => ParsePipe(noComma: false));
        Expect(";");
        var function = new JqFunction(nameToken.Text, parameters, body);
        var rest = InScope(scope.WithFunction(key), parseRest);
        return new FunctionDefNode(pos, function, rest);
    }

    private JqNode ParseStringToken(Token t, string? format)
    {
        var parts = new List<object>();
        foreach (var part in t.Parts!)
        {
            if (part is string s)
            {
                parts.Add(s);
            }
            else
            {
                var inner = new JqParser((List<Token>)part, text, scope) { nesting = nesting };
                parts.Add(inner.ParseAll());
            }
        }

        if (parts is [string only])
        {
            return new LiteralNode(t.Pos, only);
        }

        return new InterpolationNode(t.Pos, parts, format);
    }

    /// <summary>Names visible at a point of the program: variables and user functions (as <c>name/arity</c>).</summary>
    private sealed class Scope
    {
        public static readonly Scope Empty = new(null, null, null);

        private readonly Scope? parent;
        private readonly string? variable;
        private readonly string? function;

        private Scope(Scope? parent, string? variable, string? function)
        {
            this.parent = parent;
            this.variable = variable;
            this.function = function;
        }

        public Scope WithVars(IEnumerable<string> names)
        {
            var s = this;
            foreach (var n in names)
            {
                s = new Scope(s, n, null);
            }

            return s;
        }

        public Scope WithFunction(string key) => new(this, null, key);

        public bool HasVar(string name)
        {
            for (var s = this; s is not null; s = s.parent)
            {
                if (s.variable == name)
                {
                    return true;
                }
            }

            return false;
        }

        public bool HasFunction(string key)
        {
            for (var s = this; s is not null; s = s.parent)
            {
                if (s.function == key)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
