//! What the synthetic generator draws from: one scenario per typology type
//! or extension category (plus records without a venue and venues outside
//! every rule), with relative frequencies per hotline, a yearly trend, the
//! victim profile, and venue texts as hotline staff type them in English,
//! Spanish and French. Frequencies follow the published US hotline figures
//! quoted in docs (sex trafficking most common; escort services and illicit
//! massage the largest types; domestic work and agriculture the largest
//! labor types); MX and CA weights are invented to be plausible, and lean
//! more towards labor and forms outside the US typology.

pub struct Scenario {
    /// Which type or category the scenario stands for; it picks the
    /// trafficker profile.
    pub key: &'static str,
    /// Trafficking forms with weights.
    pub forms: &'static [(&'static str, f64)],
    pub sectors: &'static [&'static str],
    pub en: &'static [&'static str],
    pub es: &'static [&'static str],
    pub fr: &'static [&'static str],
    /// Relative frequency for US, MX, CA hotlines (others use the mean).
    pub weight: [f64; 3],
    /// Multiplier per year: >1 grows over the period.
    pub trend: f64,
    pub female: f64,
    pub minor: f64,
    pub foreign: f64,
}

const SEX: &[(&str, f64)] = &[("sex", 1.0)];
const LABOR: &[(&str, f64)] = &[("labor", 1.0)];
const SEX_MOSTLY: &[(&str, f64)] = &[("sex", 0.8), ("sex_and_labor", 0.2)];
const MIXED: &[(&str, f64)] = &[("sex_and_labor", 0.5), ("sex", 0.35), ("labor", 0.15)];
const OTHER: &[(&str, f64)] = &[("other", 1.0)];

macro_rules! s {
    ($key:expr, $forms:expr, $sectors:expr, en $en:expr, es $es:expr, fr $fr:expr,
     w $w:expr, t $t:expr, f $f:expr, m $m:expr, x $x:expr) => {
        Scenario {
            key: $key,
            forms: $forms,
            sectors: $sectors,
            en: $en,
            es: $es,
            fr: $fr,
            weight: $w,
            trend: $t,
            female: $f,
            minor: $m,
            foreign: $x,
        }
    };
}

pub const SCENARIOS: &[Scenario] = &[
    s!("1", SEX, &["prostitution"],
       en &["Hotel/Motel", "hotel-based", "Outcall", "escort service", "online ads, hotel", "Motel room", "Escort agency", "hotels (outcall)"],
       es &["hotel", "Servicio de acompañantes", "motel", "anuncios en línea - hotel", "escorts a domicilio"],
       fr &["hôtel", "agence d'escorte", "escorte - motel", "service d'escortes"],
       w [1572.0, 320.0, 600.0], t 1.05, f 0.94, m 0.22, x 0.12),
    s!("2", MIXED, &["prostitution"],
       en &["Massage parlor", "massage business", "Illicit massage business", "Asian massage parlor", "Massage/Spa", "spa"],
       es &["Estética y masajes", "salón de masajes", "masajes eróticos"],
       fr &["salon de massage", "salon de massage érotique", "spa"],
       w [774.0, 90.0, 250.0], t 1.02, f 0.97, m 0.02, x 0.9),
    s!("3", SEX, &["prostitution"],
       en &["Street", "outdoor solicitation", "truck stop", "street-based", "the track"],
       es &["en la calle", "zona de tolerancia", "vía pública", "parada de camiones"],
       fr &["dans la rue", "sollicitation de rue", "relais routier"],
       w [329.0, 300.0, 100.0], t 0.95, f 0.9, m 0.35, x 0.1),
    s!("4", SEX, &["prostitution"],
       en &["Residential brothel", "private residence", "house", "apartment brothel", "residential"],
       es &["casa de citas", "domicilio particular", "departamento"],
       fr &["maison close", "résidence privée", "appartement"],
       w [508.0, 200.0, 200.0], t 1.0, f 0.93, m 0.25, x 0.3),
    s!("5", LABOR, &["domestic_work"],
       en &["Domestic work", "live-in nanny", "housekeeper", "caregiver in private home", "domestic servitude"],
       es &["trabajo del hogar", "empleada doméstica", "niñera", "trabajadora del hogar"],
       fr &["travail domestique", "aide familiale résidante", "nounou", "femme de ménage"],
       w [242.0, 200.0, 80.0], t 1.03, f 0.85, m 0.08, x 0.85),
    s!("6", SEX_MOSTLY, &["prostitution"],
       en &["Bar", "cantina", "strip club", "Bar/Cantina", "gentlemen's club"],
       es &["bar", "cantina", "centro nocturno", "table dance", "bares"],
       fr &["bar", "bar de danseuses", "club de danseuses", "cabaret"],
       w [194.0, 400.0, 60.0], t 1.0, f 0.96, m 0.12, x 0.8),
    s!("7", SEX, &["pornography"],
       en &["Pornography", "porn production"],
       es &["pornografía", "producción de pornografía"],
       fr &["pornographie", "production pornographique"],
       w [110.0, 30.0, 40.0], t 1.08, f 0.8, m 0.4, x 0.1),
    s!("8", LABOR, &["peddling"],
       en &["Traveling sales crew", "door-to-door magazine sales", "sales crew"],
       es &["venta de puerta en puerta", "equipo de ventas ambulante"],
       fr &["vente porte-à-porte", "équipe de vente itinérante"],
       w [100.0, 10.0, 10.0], t 0.92, f 0.5, m 0.1, x 0.1),
    s!("9", LABOR, &["hospitality"],
       en &["Restaurant", "food truck", "buffet", "taqueria", "Restaurant/Food service"],
       es &["restaurante", "fonda", "puesto de comida", "taquería", "cocina económica"],
       fr &["restaurant", "casse-croûte", "cuisine de restaurant"],
       w [75.0, 60.0, 40.0], t 1.02, f 0.4, m 0.05, x 0.85),
    s!("10", LABOR, &["begging"],
       en &["Peddling", "begging", "selling candy on the street", "street vending"],
       es &["vendedor ambulante", "mendicidad", "venta de dulces en la calle", "comercio ambulante"],
       fr &["mendicité", "vente ambulante", "colportage"],
       w [109.0, 250.0, 15.0], t 1.0, f 0.5, m 0.45, x 0.6),
    s!("11", LABOR, &["agriculture"],
       en &["Agriculture", "farm", "dairy farm", "tomato fields", "ranch", "orchard"],
       es &["campo agrícola", "jornalero agrícola", "invernadero", "rancho", "cosecha de tomate"],
       fr &["ferme", "exploitation agricole", "ferme laitière", "serre"],
       w [134.0, 300.0, 120.0], t 1.04, f 0.3, m 0.1, x 0.9),
    s!("12", SEX, &["private_sexual_services"],
       en &["personal sexual servitude", "sold to a single buyer"],
       es &["servidumbre sexual personal"],
       fr &["servitude sexuelle personnelle"],
       w [60.0, 40.0, 20.0], t 1.0, f 0.97, m 0.3, x 0.4),
    s!("13", LABOR, &["other_labour"],
       en &["Nail salon", "hair braiding salon", "beauty salon"],
       es &["salón de belleza", "salón de uñas"],
       fr &["salon de manucure", "salon de coiffure", "salon de beauté"],
       w [45.0, 30.0, 25.0], t 1.0, f 0.9, m 0.05, x 0.9),
    s!("14", LABOR, &["construction"],
       en &["Construction", "construction site", "roofing"],
       es &["obra de construcción", "albañil", "construcción"],
       fr &["chantier de construction", "construction", "toiture"],
       w [40.0, 80.0, 40.0], t 1.03, f 0.05, m 0.04, x 0.9),
    s!("15", LABOR, &["hospitality"],
       en &["Hotel housekeeping", "hotel", "resort", "casino"],
       es &["hotel", "camarista de hotel", "centro turístico"],
       fr &["hôtel", "entretien ménager d'hôtel", "complexe hôtelier"],
       w [35.0, 40.0, 30.0], t 1.02, f 0.6, m 0.03, x 0.85),
    s!("16", LABOR, &["other_labour"],
       en &["Landscaping", "lawn care"],
       es &["jardinería", "paisajismo"],
       fr &["aménagement paysager", "entretien de pelouse"],
       w [20.0, 10.0, 10.0], t 1.0, f 0.05, m 0.05, x 0.9),
    s!("17", LABOR, &["illicit_activities"],
       en &["Drug sales", "forced to sell drugs", "drug smuggling"],
       es &["venta de drogas", "narcomenudeo"],
       fr &["vente de drogue", "trafic de stupéfiants"],
       w [104.0, 150.0, 30.0], t 1.05, f 0.4, m 0.3, x 0.3),
    s!("18", LABOR, &["other_labour"],
       en &["Modeling agency", "music group", "athletics"],
       es &["agencia de modelos", "grupo musical"],
       fr &["agence de mannequins", "troupe de danse"],
       w [25.0, 10.0, 10.0], t 1.0, f 0.7, m 0.2, x 0.6),
    s!("19", LABOR, &["other_labour"],
       en &["Janitorial", "office cleaning", "commercial cleaning"],
       es &["limpieza de oficinas", "servicio de limpieza"],
       fr &["entretien ménager commercial", "conciergerie", "nettoyage de bureaux"],
       w [20.0, 15.0, 25.0], t 1.0, f 0.6, m 0.02, x 0.9),
    s!("20", LABOR, &["manufacturing"],
       en &["Factory", "garment factory", "manufacturing plant", "meat processing plant"],
       es &["maquiladora", "fábrica", "planta empacadora"],
       fr &["usine", "usine de transformation", "usine de vêtements"],
       w [25.0, 60.0, 30.0], t 1.0, f 0.5, m 0.06, x 0.9),
    s!("21", SEX, &["remote_interactive_services"],
       en &["Webcam", "live-stream", "phone sex line"],
       es &["cámara web", "transmisión en vivo"],
       fr &["webcam", "clavardage vidéo"],
       w [60.0, 20.0, 60.0], t 1.25, f 0.85, m 0.35, x 0.1),
    s!("22", LABOR, &["other_labour"],
       en &["Carnival", "traveling fair"],
       es &["feria ambulante", "feria"],
       fr &["fête foraine", "foire"],
       w [10.0, 15.0, 5.0], t 1.0, f 0.3, m 0.1, x 0.9),
    s!("23", LABOR, &["other_labour"],
       en &["Logging", "tree planting", "forestry"],
       es &["tala de árboles", "explotación forestal"],
       fr &["bûcheronnage", "foresterie", "plantation d'arbres"],
       w [8.0, 10.0, 20.0], t 1.0, f 0.05, m 0.03, x 0.9),
    s!("24", LABOR, &["other_labour"],
       en &["Nursing home", "home health aide", "assisted living facility"],
       es &["asilo de ancianos", "cuidadora de enfermos"],
       fr &["résidence pour aînés", "préposé aux bénéficiaires"],
       w [15.0, 10.0, 25.0], t 1.03, f 0.77, m 0.0, x 0.95),
    s!("25", LABOR, &["other_labour"],
       en &["Amusement park", "summer camp", "golf course"],
       es &["parque de diversiones", "campo de golf"],
       fr &["parc d'attractions", "camp de vacances", "terrain de golf"],
       w [10.0, 8.0, 10.0], t 1.0, f 0.5, m 0.0, x 0.95),
    s!("mining", LABOR, &["mining_or_drilling"],
       en &["Gold mine", "mining camp", "quarry"],
       es &["mina", "minería ilegal"],
       fr &["mine d'or", "orpaillage"],
       w [2.0, 40.0, 8.0], t 1.0, f 0.1, m 0.2, x 0.7),
    s!("fishing", LABOR, &["aquafarming"],
       en &["Fishing boat", "fishing vessel"],
       es &["barco pesquero", "pesca"],
       fr &["bateau de pêche", "pêche commerciale"],
       w [3.0, 30.0, 30.0], t 1.0, f 0.05, m 0.05, x 0.9),
    s!("transportation", LABOR, &["transportation"],
       en &["Trucking company", "long-haul trucking"],
       es &["transporte de carga"],
       fr &["camionnage"],
       w [5.0, 30.0, 10.0], t 1.0, f 0.1, m 0.02, x 0.8),
    s!("forced_marriage", OTHER, &["forced_marriage"],
       en &["forced marriage"],
       es &["matrimonio forzado"],
       fr &["mariage forcé"],
       w [8.0, 40.0, 15.0], t 1.0, f 0.97, m 0.5, x 0.6),
    s!("forced_military", OTHER, &["forced_military"],
       en &["armed group"],
       es &["grupo armado"],
       fr &["groupe armé"],
       w [0.0, 20.0, 0.0], t 1.0, f 0.2, m 0.6, x 0.1),
    s!("organ_removal", OTHER, &["organ_removal"],
       en &["kidney sale"],
       es &["venta de riñón"],
       fr &["trafic d'organes"],
       w [0.0, 5.0, 2.0], t 1.0, f 0.4, m 0.0, x 0.7),
    s!("other_form", OTHER, &["slavery_practices"],
       en &[],
       es &[],
       fr &[],
       w [5.0, 10.0, 5.0], t 1.0, f 0.6, m 0.2, x 0.5),
    // sex trafficking recorded as prostitution with no venue: must stay
    // undetermined, never guessed
    s!("no_venue_sex", SEX, &["prostitution"], en &[], es &[], fr &[],
       w [700.0, 250.0, 200.0], t 1.0, f 0.93, m 0.25, x 0.2),
    s!("no_venue_labor", LABOR, &[], en &[], es &[], fr &[],
       w [60.0, 60.0, 30.0], t 1.0, f 0.5, m 0.1, x 0.7),
    s!("not_specified", &[("not_specified", 1.0)], &[], en &[], es &[], fr &[],
       w [500.0, 150.0, 120.0], t 1.0, f 0.8, m 0.2, x 0.3),
    // venue texts a hotline types that no rule can place
    s!("unmatched", SEX_MOSTLY, &[],
       en &["Other", "unknown location", "online"],
       es &["otro", "varios lugares"],
       fr &["autre", "lieux divers"],
       w [60.0, 30.0, 25.0], t 1.0, f 0.9, m 0.2, x 0.3),
];

/// Countries whose citizens appear as foreign nationals, per hotline.
pub fn origins(country: &str) -> &'static [&'static str] {
    match country {
        "US" => &["MX", "GT", "HN", "SV", "PH", "CN", "KR", "TH", "IN"],
        "MX" => &["GT", "HN", "SV", "VE", "CO", "CU", "HT"],
        "CA" => &["MX", "PH", "IN", "CN", "KR", "JM", "GT"],
        _ => &["US", "MX", "PH", "CN", "IN"],
    }
}

/// ISO 3166-2 subdivisions used for the country of exploitation.
pub fn subdivisions(country: &str) -> &'static [&'static str] {
    match country {
        "US" => &[
            "US-CA", "US-TX", "US-NY", "US-FL", "US-GA", "US-IL", "US-NV", "US-OH", "US-WA",
            "US-NC",
        ],
        "MX" => &[
            "MX-CMX", "MX-JAL", "MX-NLE", "MX-BCN", "MX-CHH", "MX-ROO", "MX-PUE", "MX-VER",
            "MX-MEX", "MX-CHP",
        ],
        "CA" => &["CA-ON", "CA-QC", "CA-BC", "CA-AB", "CA-MB", "CA-NS"],
        _ => &[],
    }
}

pub const ADULT_BANDS: &[(&str, f64)] = &[
    ("18-20", 0.18),
    ("21-23", 0.17),
    ("24-26", 0.15),
    ("27-29", 0.12),
    ("30-38", 0.2),
    ("39-47", 0.12),
    ("48+", 0.06),
];

pub const SEX_RECRUITMENT: &[(&str, f64)] = &[
    ("intimate_partner", 30.0),
    ("familial", 25.0),
    ("job_offer", 15.0),
    ("false_promises", 15.0),
    ("internet", 10.0),
    ("posing_as_benefactor", 8.0),
    ("smuggling", 2.0),
    ("abduction", 2.0),
];

pub const LABOR_RECRUITMENT: &[(&str, f64)] = &[
    ("job_offer", 50.0),
    ("false_promises", 25.0),
    ("smuggling", 10.0),
    ("familial", 8.0),
    ("work", 5.0),
    ("internet", 5.0),
    ("international_marriage_broker", 1.0),
];

pub const SEX_RELATIONS: &[(&str, f64)] = &[
    ("intimate_partner", 35.0),
    ("family", 30.0),
    ("friend_acquaintance", 25.0),
    ("other", 10.0),
];

pub const LABOR_RELATIONS: &[(&str, f64)] = &[
    ("other", 40.0),
    ("friend_acquaintance", 30.0),
    ("family", 20.0),
    ("intimate_partner", 10.0),
];

pub const SEX_CONTROL: &[(&str, f64)] = &[
    ("psychological_abuse", 30.0),
    ("physical_abuse", 25.0),
    ("threats", 25.0),
    ("takes_earnings", 22.0),
    ("restricts_movement", 20.0),
    ("sexual_abuse", 18.0),
    ("psychoactive_substances", 15.0),
    ("false_promises", 10.0),
    ("debt_bondage", 8.0),
    ("restricts_financial_access", 8.0),
    ("withholds_documents", 5.0),
    ("withholds_necessities", 5.0),
    ("threat_of_law_enforcement", 5.0),
];

pub const LABOR_CONTROL: &[(&str, f64)] = &[
    ("excessive_working_hours", 30.0),
    ("takes_earnings", 30.0),
    ("threats", 25.0),
    ("debt_bondage", 20.0),
    ("withholds_documents", 20.0),
    ("false_promises", 20.0),
    ("threat_of_law_enforcement", 18.0),
    ("restricts_movement", 15.0),
    ("psychological_abuse", 15.0),
    ("withholds_necessities", 10.0),
    ("physical_abuse", 8.0),
    ("restricts_medical_care", 5.0),
];

/// The trafficker profile planted for a scenario: who the perpetrators are
/// to the victim, what they did, and how many of them are women. The shapes
/// follow the Typology's trafficker descriptions (family members in
/// personal sexual servitude, peddling and begging and forced marriage;
/// intimate partners in street-based and residential sex trafficking;
/// employers and labour recruiters in the labour types); the numbers are
/// invented.
pub struct TraffickerProfile {
    pub relations: &'static [(&'static str, f64)],
    pub roles: &'static [(&'static str, f64)],
    pub female: f64,
}

const FAMILY_FIRST: &[(&str, f64)] = &[
    ("family", 70.0),
    ("intimate_partner", 10.0),
    ("friend_acquaintance", 12.0),
    ("other", 8.0),
];
const PARTNER_FIRST: &[(&str, f64)] = &[
    ("intimate_partner", 45.0),
    ("friend_acquaintance", 25.0),
    ("family", 12.0),
    ("stranger", 10.0),
    ("other", 8.0),
];
const EMPLOYER_FIRST: &[(&str, f64)] = &[
    ("employer", 55.0),
    ("stranger", 15.0),
    ("friend_acquaintance", 15.0),
    ("family", 8.0),
    ("other", 7.0),
];
const MIXED_RELATIONS: &[(&str, f64)] = &[
    ("friend_acquaintance", 30.0),
    ("stranger", 25.0),
    ("intimate_partner", 15.0),
    ("family", 10.0),
    ("employer", 10.0),
    ("other", 10.0),
];
const EXPLOITERS: &[(&str, f64)] = &[("exploiter", 80.0), ("recruiter", 30.0), ("other", 5.0)];
const RECRUITERS_AND_BROKERS: &[(&str, f64)] = &[
    ("exploiter", 60.0),
    ("recruiter", 45.0),
    ("broker", 30.0),
    ("transporter", 15.0),
];

pub fn trafficker_profile(key: &str) -> TraffickerProfile {
    let (relations, roles, female) = match key {
        // personal sexual servitude, peddling and begging, forced marriage
        "12" | "10" | "forced_marriage" => (FAMILY_FIRST, EXPLOITERS, 0.45),
        // outdoor solicitation, residential, escort services
        "3" | "4" | "1" => (PARTNER_FIRST, EXPLOITERS, 0.25),
        // illicit massage: brokered networks, many women among traffickers
        "2" => (MIXED_RELATIONS, RECRUITERS_AND_BROKERS, 0.6),
        // domestic work: the employer, often a woman
        "5" => (EMPLOYER_FIRST, RECRUITERS_AND_BROKERS, 0.55),
        "8" | "9" | "11" | "13" | "14" | "15" | "16" | "18" | "19" | "20" | "22" | "23" | "24"
        | "25" | "mining" | "fishing" | "transportation" => {
            (EMPLOYER_FIRST, RECRUITERS_AND_BROKERS, 0.2)
        }
        _ => (MIXED_RELATIONS, EXPLOITERS, 0.3),
    };
    TraffickerProfile {
        relations,
        roles,
        female,
    }
}

pub const PERPETRATOR_AGES: &[(&str, f64)] = &[
    ("0-17", 2.0),
    ("18-29", 35.0),
    ("30-49", 48.0),
    ("50+", 15.0),
];
