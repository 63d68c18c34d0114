package sim

// Word lists the generator draws from. They are deliberately small: variety
// comes from combining them, not from their length.

var firstNames = []string{
	"Marie", "Thomas", "Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Emma", "Nathan",
	"Sarah", "Julien", "Laura", "Antoine", "Manon", "Maxime", "Julie", "Alexandre", "Pauline", "Nicolas",
	"James", "Olivia", "William", "Sophia", "Benjamin", "Isabella", "Daniel", "Mia", "Michael", "Charlotte",
	"David", "Amelia", "Joseph", "Harper", "Samuel", "Evelyn", "Henry", "Abigail", "Jack", "Emily",
	"Lukas", "Anna", "Felix", "Lena", "Jonas", "Hannah", "Leon", "Lea", "Paul", "Mila",
	"Mateo", "Lucía", "Pablo", "Martina", "Diego", "Valeria", "Javier", "Carmen", "Marco", "Giulia",
	"Luca", "Francesca", "Matteo", "Chiara", "Sven", "Ingrid", "Lars", "Freya", "Pieter", "Sanne",
	"Aarav", "Priya", "Rohan", "Ananya", "Kenji", "Yuki", "Wei", "Mei", "Omar", "Fatima",
	"Tomasz", "Zofia", "Mihai", "Ioana", "João", "Beatriz", "Noah", "Zoe", "Elias", "Nora",
	"Adam", "Inès", "Raphaël", "Alice", "Gabriel", "Jade", "Arthur", "Louise", "Victor", "Rose",
}

var lastNames = []string{
	"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
	"Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
	"Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King",
	"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz",
	"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
	"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Ruiz",
	"Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Nilsson", "Larsen", "Hansen", "Berg", "Lindqvist",
	"Sharma", "Patel", "Tanaka", "Suzuki", "Chen", "Wang", "Kowalski", "Nowak", "Popescu", "Silva",
	"Costa", "Santos", "Haddad", "Mansour", "Nguyen", "Kim", "Park", "O'Brien", "Murphy", "Kelly",
}

type city struct {
	Name, Region, Country, CountryCode, Lang, Currency string
	Lat, Lng                                           float64
	PostalPrefix                                       string
	GeoID                                              int // TripAdvisor-style geo id
}

var cities = []city{
	{"Paris", "Île-de-France", "France", "FR", "fr", "EUR", 48.8566, 2.3522, "750", 187147},
	{"Lyon", "Auvergne-Rhône-Alpes", "France", "FR", "fr", "EUR", 45.764, 4.8357, "690", 187265},
	{"Bordeaux", "Nouvelle-Aquitaine", "France", "FR", "fr", "EUR", 44.8378, -0.5792, "330", 187079},
	{"Marseille", "Provence-Alpes-Côte d'Azur", "France", "FR", "fr", "EUR", 43.2965, 5.3698, "130", 187253},
	{"London", "England", "United Kingdom", "GB", "en", "GBP", 51.5072, -0.1276, "EC1", 186338},
	{"Manchester", "England", "United Kingdom", "GB", "en", "GBP", 53.4808, -2.2426, "M1", 187069},
	{"New York", "New York", "United States", "US", "en", "USD", 40.7128, -74.006, "100", 60763},
	{"San Francisco", "California", "United States", "US", "en", "USD", 37.7749, -122.4194, "941", 60713},
	{"Austin", "Texas", "United States", "US", "en", "USD", 30.2672, -97.7431, "787", 30196},
	{"Chicago", "Illinois", "United States", "US", "en", "USD", 41.8781, -87.6298, "606", 35805},
	{"Berlin", "Berlin", "Germany", "DE", "de", "EUR", 52.52, 13.405, "101", 187323},
	{"Munich", "Bavaria", "Germany", "DE", "de", "EUR", 48.1351, 11.582, "803", 187309},
	{"Madrid", "Community of Madrid", "Spain", "ES", "es", "EUR", 40.4168, -3.7038, "280", 187514},
	{"Barcelona", "Catalonia", "Spain", "ES", "es", "EUR", 41.3874, 2.1686, "080", 187497},
	{"Milan", "Lombardy", "Italy", "IT", "it", "EUR", 45.4642, 9.19, "201", 187849},
	{"Rome", "Lazio", "Italy", "IT", "it", "EUR", 41.9028, 12.4964, "001", 187791},
	{"Amsterdam", "North Holland", "Netherlands", "NL", "nl", "EUR", 52.3676, 4.9041, "101", 188590},
	{"Stockholm", "Stockholm County", "Sweden", "SE", "sv", "SEK", 59.3293, 18.0686, "111", 189852},
	{"Lisbon", "Lisbon", "Portugal", "PT", "pt", "EUR", 38.7223, -9.1393, "110", 189158},
	{"Toronto", "Ontario", "Canada", "CA", "en", "CAD", 43.6532, -79.3832, "M5V", 155019},
	{"Singapore", "Singapore", "Singapore", "SG", "en", "SGD", 1.3521, 103.8198, "018", 294265},
	{"Bangalore", "Karnataka", "India", "IN", "en", "INR", 12.9716, 77.5946, "560", 297628},
	{"Sydney", "New South Wales", "Australia", "AU", "en", "AUD", -33.8688, 151.2093, "200", 255060},
	{"Dublin", "County Dublin", "Ireland", "IE", "en", "EUR", 53.3498, -6.2603, "D02", 186605},
}

var languageNames = map[string]string{"fr": "French", "en": "English", "de": "German", "es": "Spanish", "it": "Italian", "nl": "Dutch", "sv": "Swedish", "pt": "Portuguese"}

var extraLanguages = []string{"English", "French", "Spanish", "German", "Italian", "Mandarin", "Arabic", "Portuguese", "Japanese", "Dutch"}

type function struct {
	Name   string
	Titles []string
	Skills []string
}

var functions = []function{
	{"Engineering", []string{"Software Engineer", "Backend Engineer", "Frontend Developer", "Data Engineer", "Site Reliability Engineer", "Engineering Manager", "Staff Engineer", "CTO"},
		[]string{"Go", "Python", "Kubernetes", "PostgreSQL", "TypeScript", "React", "AWS", "Distributed Systems", "CI/CD", "Rust", "Java", "System Design"}},
	{"Sales", []string{"Account Executive", "Sales Development Representative", "Sales Manager", "Key Account Manager", "Head of Sales", "VP Sales", "Business Developer"},
		[]string{"Negotiation", "Salesforce", "Prospecting", "B2B Sales", "Account Management", "Cold Calling", "Pipeline Management", "SaaS"}},
	{"Marketing", []string{"Marketing Manager", "Growth Marketer", "Content Strategist", "Product Marketing Manager", "SEO Specialist", "CMO", "Brand Manager"},
		[]string{"SEO", "Content Marketing", "Google Analytics", "Brand Strategy", "Copywriting", "HubSpot", "Demand Generation", "Social Media"}},
	{"Human Resources", []string{"Talent Acquisition Specialist", "HR Business Partner", "Recruiter", "People Operations Manager", "Chief People Officer"},
		[]string{"Recruiting", "Onboarding", "Employer Branding", "Labor Law", "Compensation", "Interviewing"}},
	{"Finance", []string{"Financial Analyst", "Controller", "CFO", "Accountant", "FP&A Manager", "Treasury Analyst"},
		[]string{"Financial Modeling", "Excel", "Budgeting", "IFRS", "Forecasting", "Audit"}},
	{"Operations", []string{"Operations Manager", "Project Manager", "COO", "Supply Chain Analyst", "Office Manager"},
		[]string{"Project Management", "Lean", "Logistics", "Process Improvement", "Vendor Management"}},
	{"Product", []string{"Product Manager", "Senior Product Manager", "Head of Product", "Product Owner", "Chief Product Officer"},
		[]string{"Product Strategy", "Roadmapping", "User Research", "Agile", "A/B Testing", "Jira"}},
	{"Design", []string{"Product Designer", "UX Researcher", "UI Designer", "Design Lead", "Graphic Designer"},
		[]string{"Figma", "User Experience", "Prototyping", "Design Systems", "Illustration"}},
	{"Customer Success", []string{"Customer Success Manager", "Support Engineer", "Head of Customer Success", "Onboarding Specialist"},
		[]string{"Customer Retention", "Zendesk", "Customer Support", "Churn Reduction", "Training"}},
	{"Legal", []string{"Legal Counsel", "General Counsel", "Paralegal", "Compliance Officer"},
		[]string{"Contract Law", "GDPR", "Corporate Law", "Compliance", "Negotiation"}},
}

var seniorities = []string{"", "", "", "Senior ", "Junior ", "Lead "}

var industries = []string{
	"Software Development", "IT Services and IT Consulting", "Financial Services", "Retail", "Hospitals and Health Care",
	"Manufacturing", "Marketing Services", "Education", "Real Estate", "Transportation, Logistics, Supply Chain and Storage",
	"Food and Beverage Services", "Biotechnology Research", "Renewable Energy", "Telecommunications", "Insurance",
	"Human Resources Services", "Media Production", "Automotive", "Hospitality", "Legal Services",
}

var companyWordsA = []string{"Blue", "North", "Bright", "Nova", "Quantum", "Silver", "Green", "Rapid", "Clear", "Open", "Solid", "Urban", "Pixel", "Vertex", "Lumen", "Atlas", "Orbit", "Cedar", "Summit", "Harbor", "Iron", "Swift", "Polar", "Crimson", "Golden"}
var companyWordsB = []string{"Labs", "Systems", "Works", "Analytics", "Dynamics", "Logistics", "Health", "Capital", "Foods", "Media", "Robotics", "Energy", "Software", "Partners", "Studio", "Networks", "Bank", "Mobility", "Retail", "Security"}
var companySuffixes = []string{"", "", "", " Group", " SAS", " Inc.", " GmbH", " Ltd", " & Co"}
var companyTypes = []string{"Privately Held", "Public Company", "Self-Employed", "Partnership", "Nonprofit"}
var fundingTypes = []string{"Seed", "Series A", "Series B", "Series C", "Series D", "Private equity round", "Debt financing"}
var investorNames = []string{"Northgate Ventures", "Seedling Capital", "Blue Harbor Partners", "Atlas Growth", "Frontier Fund", "Lakeside Ventures", "Meridian Capital", "Helix Investments"}

var schoolPrefixes = []string{"University of", "Institute of Technology of", "School of Business of", "Polytechnic of", "College of Arts of"}
var degrees = []string{"Bachelor of Science", "Master of Science", "Master of Business Administration", "Bachelor of Arts", "PhD", "Master of Engineering"}
var fieldsOfStudy = []string{"Computer Science", "Business Administration", "Marketing", "Economics", "Mechanical Engineering", "Psychology", "Law", "Finance", "Design", "Mathematics"}

var postTopics = []string{
	"hiring", "product launch", "remote work", "AI", "leadership", "sales tips", "customer stories",
	"conference recap", "funding news", "career advice", "team culture", "open source", "data privacy",
}
var postOpeners = []string{
	"Excited to share that", "A quick thought on", "Lessons learned about", "We just shipped something around",
	"Three things I wish I knew about", "Proud of the team for their work on", "Hot take on", "Grateful for the conversations on",
}
var commentTexts = []string{
	"Great insight, thanks for sharing!", "Congratulations to the whole team!", "Totally agree with this.",
	"Interesting perspective. How did you measure it?", "This resonates a lot.", "Well said!",
	"Would love to learn more about this.", "Bravo !", "Looking forward to the next one.", "Very helpful, bookmarking this.",
}
var reactionTypes = []string{"LIKE", "LIKE", "LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION", "ENTERTAINMENT"}
var messageTexts = []string{
	"Hi! Thanks for connecting.", "Would you be open to a quick call next week?", "Thanks, that sounds great.",
	"Sharing the deck we discussed.", "Let me check with my team and come back to you.", "Congrats on the new role!",
	"Are you attending the conference in June?", "Happy to help, let me know.", "Thanks for the intro!", "Sure, Tuesday works for me.",
}
var eventWords = []string{"Summit", "Meetup", "Webinar", "Forum", "Conference", "Workshop", "Masterclass", "Roundtable"}
var groupWords = []string{"Professionals", "Network", "Community", "Club", "Leaders", "Circle", "Alumni", "Enthusiasts"}
var certNames = []string{"AWS Certified Solutions Architect", "Google Analytics Certification", "PMP", "Certified Scrum Master", "HubSpot Inbound Marketing", "CFA Level I", "Salesforce Administrator", "CKA: Certified Kubernetes Administrator", "TOEIC", "ITIL Foundation"}
var certIssuers = []string{"Amazon Web Services", "Google", "Project Management Institute", "Scrum Alliance", "HubSpot Academy", "CFA Institute", "Salesforce", "The Linux Foundation", "ETS", "Axelos"}
var volunteerCauses = []string{"Education", "Environment", "Health", "Human Rights", "Animal Welfare", "Arts and Culture"}

var placeCategories = []string{"Restaurant", "Café", "Bakery", "Hotel", "Dentist", "Gym", "Hair salon", "Bookstore", "Pharmacy", "Coworking space", "Bar", "Florist"}
var placeWordsA = []string{"Le Petit", "The Golden", "Chez", "La Belle", "The Green", "Casa", "Blue", "Little", "Royal", "Old Town", "Sunny", "Corner"}
var placeWordsB = []string{"Table", "Garden", "Oak", "Lantern", "Bistro", "House", "Mill", "Corner", "Harbor", "Bloom", "Spoon", "Studio"}
var streets = []string{"Rue de la Paix", "High Street", "Main Street", "Avenue des Champs", "Market Street", "Calle Mayor", "Hauptstraße", "Via Roma", "Church Road", "Boulevard Saint-Germain"}
var cuisines = []string{"French", "Italian", "Japanese", "Mediterranean", "Vegetarian", "Seafood", "Indian", "Mexican", "Lebanese", "Thai"}
var hotelAmenities = []string{"Free Wi-Fi", "Breakfast included", "Fitness center", "Spa", "Pool", "Bar / lounge", "Airport transportation", "Pets allowed", "Room service", "Non-smoking rooms", "Parking", "Laundry service"}
var awards = []string{"Travellers' Choice 2025", "Travellers' Choice 2024", "Certificate of Excellence", "Best of the Best 2025"}
var reviewTitles = []string{"Lovely stay", "Would come back", "Great value", "Disappointing service", "Perfect location", "Excellent food", "A hidden gem", "Not as expected", "Friendly staff", "Superb experience"}
var reviewBodies = []string{
	"The staff were friendly and the place was spotless.", "Food was delicious, portions generous.",
	"A bit noisy in the evening but overall fine.", "Excellent location, close to everything.",
	"Service was slow and the room smaller than advertised.", "We loved the atmosphere and will be back.",
	"Good value for money, nothing exceptional.", "Outstanding experience from start to finish.",
}
var ownerAnswers = []string{"Thank you for your kind words, we hope to see you again soon!", "We are sorry about your experience and have shared your feedback with the team.", "Merci beaucoup pour votre visite !"}
var jobTypes = []string{"Full-time", "Part-time", "Contract", "Internship", "Temporary"}
var jobFields = []string{"Engineering", "Sales", "Marketing", "Finance", "Operations", "Design", "Customer Success", "Human Resources"}
