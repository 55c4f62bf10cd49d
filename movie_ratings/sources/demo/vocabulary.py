"""Word lists the simulated films are made of: names, companies, languages, titles and
overview phrases (plain constants: nothing is computed at import time)."""

from __future__ import annotations

FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
    "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
    "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa",
    "Anthony", "Betty", "Mark", "Margaret", "Steven", "Sandra", "Paul", "Ashley",
    "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol",
    "Brian", "Amanda", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie",
    "Jason", "Rebecca", "Edward", "Laura", "Jeffrey", "Sharon", "Ryan", "Cynthia",
    "Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Angela", "Eric", "Helen",
    "Jonathan", "Anna", "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Nicole",
    "Scott", "Emma", "Frank", "Samantha", "Benjamin", "Katherine", "Gregory", "Christine",
    "Samuel", "Rachel", "Raymond", "Catherine", "Patrick", "Carolyn", "Alexander", "Janet",
    "Jack", "Ruth", "Dennis", "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron",
    "Julie", "Henry", "Joyce", "Adam", "Victoria", "Nathan", "Olivia", "Peter", "Grace",
    "Zachary", "Lily", "Walter", "Hannah", "Harold", "Rose", "Kyle", "Claire", "Carl",
    "Alice", "Arthur", "Vera", "José", "Lucía", "Luis", "Javier", "Sofía", "Jean",
    "Marie", "François", "Céline", "Hélène", "Jérôme", "André", "Zoë", "Björn", "Søren",
    "Åsa", "Jürgen", "Günter", "Małgorzata", "Łukasz", "Dmitri", "Olga", "Giulia",
    "Marco", "Giovanni", "Chiara", "Hiroshi", "Yuki", "Kenji", "Akiko", "Min-jun",
    "Ji-woo", "Wei", "Mei", "Arjun", "Priya", "Rahul", "Aisha", "Omar", "Fatima",
    "Mehmet", "Elif", "Ingrid", "Lars", "Nils", "João", "Inês", "Sergei", "Natalia",
    "Amélie", "Raúl", "Ibrahim", "Chloé", "Noémie", "Ólafur", "Dagný", "Zoltán", "Ágnes",
    "Thiago", "Renée",
)  # fmt: skip
LAST_PREFIXES = (
    "Ash", "Black", "Brad", "Brook", "Cald", "Clay", "Craw", "Dal", "Dun", "East", "Fair",
    "Glen", "Green", "Hal", "Hart", "Hay", "Hol", "Kings", "Lang", "Lock", "Mar", "Mid",
    "Mor", "New", "Nor", "Oak", "Pem", "Ral", "Red", "Rid", "Rock", "Rut", "Shel", "Stan",
    "Stock", "Thorn", "War", "West", "White", "Wood", "Whit", "Bar", "Cran", "Ell", "Pen",
)  # fmt: skip
LAST_SUFFIXES = (
    "ford", "wood", "ley", "ton", "well", "man", "field", "by", "worth", "son", "more",
    "bury", "er", "ridge", "stone", "brook", "wick", "hurst", "dale", "croft",
)  # fmt: skip
LAST_NAMES = (
    "García", "Martínez", "López", "Hernández", "González", "Pérez", "Sánchez",
    "Rodríguez", "Gómez", "Díaz", "Müller", "Schröder", "Schäfer", "Weiß", "Köhler",
    "Dubois", "Lefèvre", "Moreau", "Girard", "Bonnet", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Romano", "Tanaka", "Suzuki", "Takahashi", "Watanabe",
    "Yamamoto", "Nakamura", "Kim", "Lee", "Park", "Choi", "Jung", "Wang", "Zhang", "Liu",
    "Chen", "Yang", "Huang", "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer",
    "Ivanov", "Petrov", "Smirnov", "Volkova", "Kowalski", "Nowak", "Wiśniewski", "Novák",
    "Dvořák", "Jensen", "Nielsen", "Hansen", "Andersson", "Johansson", "Lindqvist",
    "Østergaard", "Kaya", "Yılmaz", "Demir", "Şahin", "Silva", "Santos", "Oliveira",
    "Costa", "Pereira", "Nguyen", "Tran", "Haddad", "Khalil", "Mansour", "O'Brien",
    "O'Connor", "McAllister", "MacLeod", "D'Angelo", "Janssen", "Kovács", "Nagy",
    "Papadopoulos", "Horvat", "Karimi", "Hosseini", "Cohen", "Levi", "Popescu", "Andrade",
)  # fmt: skip
COMPANY_ADJECTIVES = (
    "Silver", "Golden", "Red", "Blue", "Black", "White", "Green", "Crimson", "Northern",
    "Southern", "Eastern", "Western", "Royal", "Grand", "Little", "Big", "Bright", "Dark",
    "Lucky", "Wild", "Iron", "Stone", "Crystal", "Velvet", "Electric", "Atomic", "Lunar",
    "Solar", "Midnight", "Morning", "Evening", "Hidden", "Open", "Free", "Brave", "Happy",
    "Lonely", "Rolling", "Flying", "Running", "Broken", "Secret", "Ancient", "Modern",
    "Urban", "Rural", "Coastal", "Central", "Prime", "Twin", "Seventh", "First",
)  # fmt: skip
COMPANY_NOUNS = (
    "Lake", "River", "Hill", "Harbor", "Bridge", "Tower", "Gate", "Lion", "Eagle", "Fox",
    "Wolf", "Bear", "Horse", "Raven", "Owl", "Oak", "Pine", "Maple", "Cedar", "Rose",
    "Star", "Moon", "Sun", "Sky", "Cloud", "Rain", "Storm", "Wave", "Ocean", "Island",
    "Valley", "Canyon", "Mountain", "Forest", "Field", "Garden", "Road", "Street",
    "Avenue", "Square", "Lantern", "Mirror", "Window", "Door", "Frame", "Reel", "Lens",
    "Camera", "Screen", "Stage", "Curtain", "Ticket", "Dream", "Story", "Picture",
    "Light", "Shadow", "Spark", "Echo", "Anchor",
)  # fmt: skip
COMPANY_KINDS = (
    "Pictures", "Films", "Entertainment", "Studios", "Productions", "Media",
    "Film Company", "Motion Pictures", "Filmworks", "Cinema",
)  # fmt: skip

#: (ISO 639-1 code, share of films, TMDB language name, production countries).
LANGUAGES: tuple[tuple[str, float, str, tuple[str, ...]], ...] = (
    ("en", 0.500, "English", ("United States of America", "United Kingdom", "Canada", "Australia", "Ireland", "New Zealand")),
    ("fr", 0.065, "French", ("France", "Belgium", "Canada", "Switzerland")),
    ("es", 0.060, "Spanish", ("Spain", "Mexico", "Argentina", "Colombia", "Chile")),
    ("ja", 0.050, "Japanese", ("Japan",)),
    ("de", 0.045, "German", ("Germany", "Austria", "Switzerland")),
    ("it", 0.030, "Italian", ("Italy",)),
    ("ko", 0.020, "Korean", ("South Korea",)),
    ("zh", 0.025, "Mandarin", ("China", "Taiwan", "Hong Kong")),
    ("hi", 0.020, "Hindi", ("India",)),
    ("pt", 0.025, "Portuguese", ("Brazil", "Portugal")),
    ("ru", 0.025, "Russian", ("Russia", "Soviet Union")),
    ("sv", 0.010, "Swedish", ("Sweden",)),
    ("nl", 0.010, "Dutch", ("Netherlands", "Belgium")),
    ("tr", 0.010, "Turkish", ("Turkey",)),
    ("da", 0.007, "Danish", ("Denmark",)),
    ("pl", 0.008, "Polish", ("Poland",)),
    ("cs", 0.005, "Czech", ("Czech Republic",)),
    ("fi", 0.005, "Finnish", ("Finland",)),
    ("no", 0.005, "Norwegian", ("Norway",)),
    ("fa", 0.005, "Persian", ("Iran",)),
    ("ar", 0.006, "Arabic", ("Egypt", "Lebanon", "Morocco")),
    ("ta", 0.006, "Tamil", ("India",)),
    ("te", 0.004, "Telugu", ("India",)),
    ("ml", 0.004, "Malayalam", ("India",)),
    ("el", 0.004, "Greek", ("Greece",)),
    ("hu", 0.004, "Hungarian", ("Hungary",)),
    ("th", 0.004, "Thai", ("Thailand",)),
    ("tl", 0.004, "Tagalog", ("Philippines",)),
    ("id", 0.004, "Indonesian", ("Indonesia",)),
    ("cn", 0.006, "Cantonese", ("Hong Kong",)),
    ("he", 0.003, "Hebrew", ("Israel",)),
    ("ro", 0.003, "Romanian", ("Romania",)),
)  # fmt: skip
#: Relative frequency of each TMDB genre, in :data:`schema.GENRES` order.
GENRE_WEIGHTS = (
    0.05, 0.03, 0.05, 0.14, 0.04, 0.10, 0.22, 0.03, 0.025, 0.02,
    0.06, 0.03, 0.025, 0.05, 0.025, 0.03, 0.06, 0.015, 0.01,
)  # fmt: skip

TITLE_ADJECTIVES = (
    "Last", "Silent", "Dark", "Broken", "Hidden", "Golden", "Lost", "Final", "Secret",
    "Wild", "Midnight", "Crimson", "Empty", "Forgotten", "Little", "Endless", "Eternal",
    "Frozen", "Burning", "Savage", "Sweet", "Bitter", "Quiet", "Restless", "Hollow",
    "Perfect", "Fallen", "Distant", "Iron", "Velvet", "Naked", "Invisible", "Electric",
    "Lonely", "Beautiful", "Dangerous", "Infinite", "Ordinary", "Sacred", "Wicked",
)  # fmt: skip
TITLE_NOUNS = (
    "Road", "House", "River", "Night", "Summer", "Winter", "City", "Garden", "Heart",
    "Promise", "Shadow", "Storm", "Island", "Kingdom", "Mirror", "Dream", "Letter",
    "Station", "Harvest", "Frontier", "Journey", "Witness", "Stranger", "Machine",
    "Paradise", "Ocean", "Mountain", "Empire", "Legacy", "Secret", "Hunter", "Daughter",
    "Son", "Mother", "Father", "Soldier", "Game", "Voice", "Fire", "Rain", "Café",
    "Déjà Vu", "Fiancée", "Piñata", "Sky", "Moon", "Blood", "Silence", "Echo", "Horizon",
)  # fmt: skip
SEQUEL_MARKS = ("2", "3", "II", "III", "4", "Returns", "Reloaded", "Forever", "Rising")
#: Original titles of films in some languages: (words, joiner between two words).
ORIGINAL_WORDS: dict[str, tuple[tuple[str, ...], str]] = {
    "fr": (("Rêve", "Fenêtre", "Forêt", "Été", "Mémoire", "Cœur", "Château", "Départ", "Rivière", "Soirée", "Lumière", "Frère"), " et "),
    "es": (("Niño", "Corazón", "Canción", "Señor", "Mañana", "Jardín", "Río", "Ciudad", "Noche", "Camión"), " y "),
    "de": (("Straße", "Mädchen", "Größe", "Tür", "Brücke", "Nacht", "Wald", "Spiel", "Übermut", "Käfig"), " und "),
    "it": (("Città", "Notte", "Verità", "Amore", "Viaggio", "Perché", "Giustizia", "Caffè", "Libertà"), " e "),
    "ja": (("夜", "東京", "約束", "記憶", "夏", "海", "影", "花", "雨", "桜", "少女", "旅"), "の"),
    "zh": (("长夜", "城市", "秘密", "风", "山", "河", "梦", "家", "英雄", "青春"), "的"),
    "ko": (("밤", "서울", "기억", "여름", "바다", "그림자", "비밀", "사랑", "약속"), "의 "),
}  # fmt: skip
SUBJECTS = (
    "a young woman", "an aging detective", "two brothers", "a retired soldier",
    "a struggling musician", "a small-town sheriff", "a brilliant scientist",
    "a group of teenagers", "a grieving widow", "an ambitious journalist", "a lonely boy",
    "a former boxer", "a family", "a mysterious stranger", "a reluctant hero",
    "three friends", "a single mother", "an undercover cop", "a shy teenager",
    "a war veteran", "a documentary crew", "a con artist", "a disgraced priest",
    "a young couple", "a holocaust survivor", "a washed-up actor", "a team of astronauts",
    "a village doctor", "an orphan girl", "a hitman", "a cheerleader", "a painter",
)  # fmt: skip
VERBS = (
    "must confront", "discovers", "sets out to find", "tries to escape",
    "falls in love with", "investigates", "is haunted by", "returns home to face",
    "fights to protect", "uncovers", "teams up with", "is hunted by",
    "struggles to survive", "comes to terms with", "plans a heist against",
    "searches for", "documents", "must stop",
)  # fmt: skip
OBJECTS = (
    "a dangerous secret", "the truth about her past", "a haunted house",
    "a zombie outbreak", "a corrupt politician", "a forgotten love", "an ancient curse",
    "a serial killer", "the meaning of family", "a lost treasure", "a deadly virus",
    "an alien invasion", "a powerful drug cartel", "the ghosts of the war",
    "his estranged father", "a world on the brink", "a masked killer",
    "the memory of a friend", "a runaway bride", "a demon", "a cursed video tape",
    "the last days of a dictator", "a betrayal", "an impossible dream",
    "the fate of a nation", "a stolen painting", "a forbidden romance",
    "a mysterious island", "the power of music", "a broken marriage",
)  # fmt: skip
SETTINGS = (
    "in 1940s Berlin", "in a small town", "in post-war Japan", "on a remote island",
    "in the streets of Paris", "in modern-day New York", "during the Great Depression",
    "in a dystopian future", "in rural India", "at the edge of the world",
    "in a Seoul high school", "during the Cold War", "in a snowbound cabin",
    "in the Mexican desert", "aboard a spaceship", "in Victorian London",
)  # fmt: skip
NICKNAMES = ("The Fox", "Doc", "Ghost", "Lucky", "The Kid", "Señorita", "Mr. Nobody", "Mamá")
CODAS = (
    "But nothing is what it seems.", "Based on a true story.", "Time is running out.",
    "Along the way, they find more than they bargained for.",
    "What begins as a game soon turns deadly.", 'Nobody said "goodbye" would be easy.',
    "A story of courage, loss and hope.", "Inspired by real events.",
    "Blood will be spilled.", "Some doors, once opened, can never be closed.",
    "Friendship, it turns out, is the hardest part.", "The sequel nobody asked for.",
)  # fmt: skip
TAGLINES = (
    "Every secret has a price.", "The past never dies.", "One night. One chance.",
    "Nobody gets out alive.", "Love is a battlefield.", "Based on a true story.",
    "Some promises are meant to be broken.", "Fear has a new name.",
    "The adventure of a lifetime.", 'They called it "paradise".', "Family comes first.",
    "Run.", "Justice has no borders.", "Don't look back.", "The truth will set you free.",
)  # fmt: skip
POSTER_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
