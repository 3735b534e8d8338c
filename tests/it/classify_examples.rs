//! Labelled examples for the classifier, written independently of the rules
//! file: venue texts phrased the way hotline staff write them, in English,
//! Spanish and French, for every one of the 25 typology types and every
//! extension category. Also covers how the trafficking form changes the
//! type, when a record must stay undetermined, the evidence given for a
//! decision, and insensitivity to case, accents and plurals.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use safetynet::classify::classifier::{Classification, Classifier, Facts};
use safetynet::classify::rules::Rules;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

const LANGS: [&str; 3] = ["en", "es", "fr"];

const EXTENSIONS: [&str; 7] = [
    "mining",
    "fishing",
    "transportation",
    "forced_marriage",
    "forced_military",
    "organ_removal",
    "other_form",
];

// the vocabularies come from the library: the examples are checked against them
const FORMS: &[&str] = safetynet::base::vocab::TRAFFICKING_FORMS;
const SECTORS: &[&str] = safetynet::base::vocab::SECTORS;

/// Types that are sex trafficking only.
const SEX_TYPES: [u8; 6] = [1, 3, 4, 7, 12, 21];
/// Types that are sex trafficking, often with labor alongside.
const SEX_AND_LABOR_TYPES: [u8; 2] = [2, 6];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Type(u8),
    Ext(&'static str),
}

use Expect::{Ext, Type};

impl Expect {
    fn holds_for(self, c: &Classification) -> bool {
        match self {
            Type(n) => c.status == "typology" && c.typology_id == Some(n),
            Ext(code) => c.status == "extension" && c.extension_category == Some(code),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type(n) => write!(f, "type {n}"),
            Ext(code) => write!(f, "extension {code}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Example {
    lang: &'static str,
    form: &'static str,
    sectors: &'static [&'static str],
    venue: Option<&'static str>,
    expected: Expect,
}

/// An example that relies on the venue text alone.
const fn ex(
    lang: &'static str,
    form: &'static str,
    venue: &'static str,
    expected: Expect,
) -> Example {
    Example {
        lang,
        form,
        sectors: &[],
        venue: Some(venue),
        expected,
    }
}

/// An example that also gives sectors (and possibly no venue).
const fn exs(
    lang: &'static str,
    form: &'static str,
    sectors: &'static [&'static str],
    venue: Option<&'static str>,
    expected: Expect,
) -> Example {
    Example {
        lang,
        form,
        sectors,
        venue,
        expected,
    }
}

// One example a line reads better than rustfmt's one argument a line.
#[rustfmt::skip]
const EXAMPLES: &[Example] = &[
    // 1 Escort Services
    ex("en", "sex", "Girls sold out of a motel off the highway", Type(1)),
    ex("en", "sex", "advertised online as an escort, outcalls only", Type(1)),
    ex("en", "sex", "dates booked through online ads at a hotel near the airport", Type(1)),
    ex("es", "sex", "la explotaban en hoteles de paso en Cancún", Type(1)),
    ex("es", "sex", "anunciada como escort en páginas de internet", Type(1)),
    ex("fr", "sex", "exploitée dans une chambre d'hôtel à Montréal", Type(1)),
    ex("fr", "sex", "agence d'escortes, rendez-vous dans des motels", Type(1)),
    // 2 Illicit Massage, Health, and Beauty
    ex("en", "sex", "Asian massage parlor in a strip mall", Type(2)),
    ex("en", "sex_and_labor", "worked and lived inside a massage parlor on Route 1", Type(2)),
    ex("es", "sex", "casa de masajes en la colonia Roma", Type(2)),
    ex("es", "sex_and_labor", "salón de masajes, dormían en el local", Type(2)),
    ex("fr", "sex", "salon de massage à Laval", Type(2)),
    ex("fr", "sex", "salon de massage érotique au centre-ville", Type(2)),
    // 3 Outdoor Solicitation
    ex("en", "sex", "forced to walk the track on the street in Oakland", Type(3)),
    ex("en", "sex", "solicited buyers at a truck stop on I-10", Type(3)),
    ex("es", "sex", "explotada en la calle en la zona centro de Tijuana", Type(3)),
    ex("es", "sex", "la ponían a trabajar en las calles de Guadalajara", Type(3)),
    ex("fr", "sex", "sollicitation de clients dans la rue", Type(3)),
    ex("fr", "sex", "racolage dans la rue près de la gare", Type(3)),
    // 4 Residential
    ex("en", "sex", "residential brothel in an apartment in Queens", Type(4)),
    ex("en", "sex", "commercial sex out of a private house in the suburbs", Type(4)),
    ex("es", "sex", "la explotaban en una casa particular en Monterrey", Type(4)),
    ex("es", "sex", "prostíbulo en un apartamento residencial", Type(4)),
    ex("fr", "sex", "exploitée dans un appartement à Longueuil", Type(4)),
    ex("fr", "sex", "maison close installée dans une résidence privée", Type(4)),
    // 5 Domestic Work
    ex("en", "labor", "live-in nanny for a diplomat's family", Type(5)),
    ex("en", "labor", "housekeeper in a private home in McLean, VA", Type(5)),
    ex("es", "labor", "trabajadora doméstica en casa de sus empleadores", Type(5)),
    ex("es", "labor", "niñera de planta para una familia en Miami", Type(5)),
    ex("fr", "labor", "aide domestique logée chez un diplomate", Type(5)),
    ex("fr", "labor", "employée de maison pour une famille à Outremont", Type(5)),
    // 6 Bars, Strip Clubs, and Cantinas
    ex("en", "sex", "forced to sell drinks at a cantina in Houston", Type(6)),
    ex("en", "sex", "dancer at a strip club near the base", Type(6)),
    ex("en", "sex_and_labor", "hostess at a bar, pushed to go with customers", Type(6)),
    ex("es", "sex", "Cantina en Tapachula", Type(6)),
    ex("es", "sex_and_labor", "fichera en un bar de Monterrey", Type(6)),
    ex("fr", "sex", "danseuse dans un bar de danseuses", Type(6)),
    ex("fr", "sex", "club de striptease à Laval", Type(6)),
    // 7 Pornography
    ex("en", "sex", "forced to film porn videos for a website", Type(7)),
    exs("en", "sex", &["pornography"], None, Type(7)),
    ex("es", "sex", "obligada a grabar pornografía en un estudio", Type(7)),
    ex("fr", "sex", "contrainte à tourner de la pornographie", Type(7)),
    ex("fr", "sex", "production de pornographie juvénile", Type(7)),
    // 8 Traveling Sales Crews
    ex("en", "labor", "door-to-door magazine sales crew", Type(8)),
    ex("en", "labor", "traveling sales crew selling magazine subscriptions", Type(8)),
    ex("es", "labor", "venta de revistas de puerta en puerta", Type(8)),
    ex("es", "labor", "equipo de ventas puerta a puerta", Type(8)),
    ex("fr", "labor", "équipe de vente porte-à-porte", Type(8)),
    ex("fr", "labor", "vendeur itinérant de porte-à-porte", Type(8)),
    // 9 Restaurants and Food Service
    ex("en", "labor", "worked at a taco restaurant", Type(9)),
    ex("en", "labor", "line cook and dishwasher at a Chinese restaurant", Type(9)),
    ex("en", "labor", "taqueria in San Jose", Type(9)),
    ex("es", "labor", "cocinero en un restaurante de mariscos", Type(9)),
    ex("es", "labor", "mesera en una taquería", Type(9)),
    ex("fr", "labor", "plongeur dans un restaurant à Québec", Type(9)),
    ex("fr", "labor", "serveuse dans un restaurant de sushis", Type(9)),
    // 10 Peddling and Begging
    ex("en", "labor", "children forced into begging outside subway stations", Type(10)),
    ex("en", "labor", "sold candy as a street vendor", Type(10)),
    ex("es", "labor", "mendicidad forzada en el metro", Type(10)),
    ex("es", "labor", "vendedor ambulante de dulces en los cruceros", Type(10)),
    ex("fr", "labor", "mendicité forcée dans le métro", Type(10)),
    ex("fr", "labor", "vendeur ambulant sur les marchés", Type(10)),
    // 11 Agriculture and Animal Husbandry
    ex("en", "labor", "recruited to pick strawberries on a farm in Oxnard", Type(11)),
    ex("en", "labor", "H-2A worker on a dairy farm", Type(11)),
    ex("en", "labor", "milking cows on a ranch in Idaho", Type(11)),
    ex("es", "labor", "jornalero en una granja de pollos", Type(11)),
    ex("es", "labor", "trabajaba en un rancho en Sinaloa", Type(11)),
    ex("fr", "labor", "ouvrier dans une ferme maraîchère", Type(11)),
    ex("fr", "labor", "cueillette de fraises dans une ferme à l'île d'Orléans", Type(11)),
    // 12 Personal Sexual Servitude
    ex("en", "sex", "kept for personal sexual servitude by one buyer", Type(12)),
    exs("en", "sex", &["private_sexual_services"], None, Type(12)),
    ex("es", "sex", "servidumbre sexual para un solo hombre", Type(12)),
    ex("fr", "sex", "servitude sexuelle au service d'un seul homme", Type(12)),
    // 13 Health and Beauty Services
    ex("en", "labor", "manicurist at a nail salon in a mall", Type(13)),
    ex("en", "labor", "hair braiding at a hair salon", Type(13)),
    ex("es", "labor", "trabajaba en un salón de uñas", Type(13)),
    ex("es", "labor", "estilista en un salón de belleza", Type(13)),
    ex("fr", "labor", "coiffeuse dans un salon de coiffure", Type(13)),
    ex("fr", "labor", "technicienne dans un salon de manucure", Type(13)),
    // 14 Construction
    ex("en", "labor", "framing crew on a construction site", Type(14)),
    ex("en", "labor", "roofer for a residential construction company", Type(14)),
    ex("es", "labor", "trabajaba en una obra de construcción", Type(14)),
    ex("es", "labor", "albañil para una empresa de construcción", Type(14)),
    ex("fr", "labor", "manœuvre sur un chantier de construction", Type(14)),
    ex("fr", "labor", "ouvrier dans la construction à Laval", Type(14)),
    // 15 Hotels and Hospitality
    ex("en", "labor", "room attendant at a hotel in Orlando", Type(15)),
    ex("en", "labor", "housekeeping at a beach resort", Type(15)),
    ex("es", "labor", "camarista en un hotel de Cancún", Type(15)),
    ex("es", "labor", "recamarera en un hotel todo incluido", Type(15)),
    ex("fr", "labor", "femme de chambre dans un hôtel de Québec", Type(15)),
    ex("fr", "labor", "travaillait dans un hôtel de villégiature", Type(15)),
    // 16 Landscaping
    ex("en", "labor", "landscaping crew mowing lawns in Charlotte", Type(16)),
    ex("en", "labor", "H-2B worker for a landscaping company", Type(16)),
    ex("es", "labor", "cuadrilla de jardinería en Houston", Type(16)),
    ex("fr", "labor", "entreprise d'aménagement paysager", Type(16)),
    ex("fr", "labor", "employé d'une entreprise de paysagement", Type(16)),
    // 17 Illicit Activities
    ex("en", "labor", "forced into drug sales for a gang", Type(17)),
    exs("en", "labor", &["illicit_activities"], Some("made to sell drugs on the corner"), Type(17)),
    ex("es", "labor", "venta de drogas para un cártel", Type(17)),
    ex("es", "labor", "obligado al narcomenudeo en la colonia", Type(17)),
    ex("fr", "labor", "forcé à vendre de la drogue", Type(17)),
    ex("fr", "labor", "trafic de drogue pour un gang de rue", Type(17)),
    // 18 Arts and Entertainment
    ex("en", "labor", "signed with a modeling agency", Type(18)),
    ex("en", "labor", "performer in the entertainment industry on a P-3 visa", Type(18)),
    ex("es", "labor", "agencia de modelaje", Type(18)),
    ex("es", "labor", "bailarina en la industria del entretenimiento", Type(18)),
    ex("fr", "labor", "agence de mannequins", Type(18)),
    ex("fr", "labor", "artiste dans l'industrie du divertissement", Type(18)),
    // 19 Commercial Cleaning Services
    ex("en", "labor", "janitorial crew cleaning office buildings at night", Type(19)),
    ex("en", "labor", "commercial cleaning services contractor", Type(19)),
    ex("es", "labor", "servicio de limpieza de oficinas", Type(19)),
    ex("es", "labor", "conserje para una empresa de limpieza", Type(19)),
    ex("fr", "labor", "entreprise de nettoyage de bureaux", Type(19)),
    ex("fr", "labor", "nettoyage commercial de nuit", Type(19)),
    // 20 Factories and Manufacturing
    ex("en", "labor", "sewing in a garment factory", Type(20)),
    ex("en", "labor", "packing line at a food processing factory", Type(20)),
    ex("es", "labor", "costurera en una fábrica de ropa", Type(20)),
    ex("es", "labor", "obrera en una maquiladora en Ciudad Juárez", Type(20)),
    ex("fr", "labor", "ouvrière dans une usine de textile", Type(20)),
    ex("fr", "labor", "chaîne d'assemblage dans une usine", Type(20)),
    // 21 Remote Interactive Sexual Acts
    ex("en", "sex", "forced to perform sex shows on webcam", Type(21)),
    exs("en", "sex", &["remote_interactive_services"], Some("paid live stream shows"), Type(21)),
    ex("es", "sex", "obligada a hacer shows por webcam", Type(21)),
    ex("fr", "sex", "spectacles sexuels par webcam", Type(21)),
    // 22 Carnivals
    ex("en", "labor", "ride operator with a traveling carnival", Type(22)),
    ex("en", "labor", "ran games at county fairs", Type(22)),
    ex("es", "labor", "trabajaba en una feria con juegos mecánicos", Type(22)),
    ex("fr", "labor", "forain dans une fête foraine", Type(22)),
    ex("fr", "labor", "montait les manèges d'une fête foraine", Type(22)),
    // 23 Forestry and Logging
    ex("en", "labor", "tree planting for a logging company", Type(23)),
    ex("en", "labor", "forestry crew thinning pine stands", Type(23)),
    ex("es", "labor", "trabajo forestal en la sierra", Type(23)),
    ex("fr", "labor", "bûcheron pour une exploitation forestière", Type(23)),
    ex("fr", "labor", "travail de foresterie en Abitibi", Type(23)),
    // 24 Health Care
    ex("en", "labor", "caregiver at a nursing home", Type(24)),
    ex("en", "labor", "home health aide for elderly patients", Type(24)),
    ex("es", "labor", "cuidadora en un asilo de ancianos", Type(24)),
    ex("es", "labor", "enfermera en un hogar de ancianos", Type(24)),
    ex("fr", "labor", "préposée dans une résidence pour personnes âgées", Type(24)),
    ex("fr", "labor", "aide-soignante dans une maison de retraite", Type(24)),
    // 25 Recreational Facilities
    ex("en", "labor", "J-1 student working at an amusement park", Type(25)),
    ex("en", "labor", "counselor at a summer camp", Type(25)),
    ex("en", "labor", "groundskeeper at a golf course", Type(25)),
    ex("es", "labor", "trabajaba en un parque de diversiones", Type(25)),
    ex("es", "labor", "monitor en un campamento de verano", Type(25)),
    ex("fr", "labor", "employé d'un parc d'attractions", Type(25)),
    ex("fr", "labor", "moniteur dans un camp de vacances", Type(25)),
    // extension: mining
    ex("en", "labor", "digging in an illegal gold mine", Ext("mining")),
    exs("en", "labor", &["mining_or_drilling"], Some("coal mining in the hills"), Ext("mining")),
    ex("es", "labor", "minería ilegal en una mina de oro", Ext("mining")),
    ex("fr", "labor", "mine d'or artisanale", Ext("mining")),
    // extension: fishing
    ex("en", "labor", "deckhand on a fishing boat", Ext("fishing")),
    ex("en", "labor", "held at sea on a fishing vessel for two years", Ext("fishing")),
    ex("es", "labor", "marinero en un barco de pesca en alta mar", Ext("fishing")),
    ex("fr", "labor", "matelot sur un bateau de pêche", Ext("fishing")),
    // extension: transportation
    ex("en", "labor", "long-haul trucking company", Ext("transportation")),
    exs("en", "labor", &["transportation"], Some("trucking firm driver"), Ext("transportation")),
    ex("es", "labor", "chofer de camión para una empresa de transporte", Ext("transportation")),
    ex("fr", "labor", "camionneur pour une compagnie de transport", Ext("transportation")),
    // extension: forced marriage
    ex("en", "other", "forced marriage to an older man", Ext("forced_marriage")),
    exs("en", "other", &["forced_marriage"], None, Ext("forced_marriage")),
    ex("es", "other", "matrimonio forzado con un hombre mayor", Ext("forced_marriage")),
    ex("fr", "other", "mariage forcé au pays d'origine", Ext("forced_marriage")),
    // extension: forced military
    ex("en", "other", "recruited as a child soldier by an armed group", Ext("forced_military")),
    ex("es", "other", "reclutado por un grupo armado en la selva", Ext("forced_military")),
    ex("es", "other", "niño soldado", Ext("forced_military")),
    ex("fr", "other", "enfant soldat enrôlé par un groupe armé", Ext("forced_military")),
    // extension: organ removal
    ex("en", "other", "organ removal at a private clinic", Ext("organ_removal")),
    ex("en", "other", "kidney removed and sold abroad", Ext("organ_removal")),
    ex("es", "other", "extracción de órganos en una clínica", Ext("organ_removal")),
    ex("es", "other", "venta de un riñón", Ext("organ_removal")),
    ex("fr", "other", "prélèvement d'organes", Ext("organ_removal")),
    ex("fr", "other", "vente d'un rein", Ext("organ_removal")),
    // extension: other form of exploitation
    exs("en", "other", &["slavery_practices"], None, Ext("other_form")),
    ex("en", "other", "held in servitude", Ext("other_form")),
    exs("es", "other", &["slavery_practices"], Some("servidumbre por deudas"), Ext("other_form")),
    ex("es", "other", "servidumbre", Ext("other_form")),
    exs("fr", "other", &["slavery_practices"], Some("servitude pour dettes"), Ext("other_form")),
    ex("fr", "other", "servitude", Ext("other_form")),
];

fn rules() -> Rules {
    Rules::default_rules().expect("the default rules load")
}

fn classify(
    classifier: &mut Classifier<'_>,
    form: &str,
    sectors: &[&str],
    venue: Option<&str>,
) -> Arc<Classification> {
    let sectors: Vec<String> = sectors.iter().map(|s| s.to_string()).collect();
    classifier.classify(Facts {
        form,
        sectors: &sectors,
        venue,
    })
}

fn describe(c: &Classification) -> String {
    match c.status {
        "typology" => match c.typology_id {
            Some(n) => format!("type {n}"),
            None => "typology without an id".to_string(),
        },
        "extension" => format!("extension {}", c.extension_category.unwrap_or("(none)")),
        other => format!(
            "{other} ({})",
            c.undetermined_reason.as_deref().unwrap_or("no reason")
        ),
    }
}

/// Lowercases and drops accents, for comparing evidence with a word.
fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

#[test]
fn table_is_well_formed() {
    let mut problems = Vec::new();
    for e in EXAMPLES {
        if !LANGS.contains(&e.lang) {
            problems.push(format!("unknown language {:?} for {:?}", e.lang, e.venue));
        }
        if !FORMS.contains(&e.form) {
            problems.push(format!("unknown form {:?} for {:?}", e.form, e.venue));
        }
        for s in e.sectors {
            if !SECTORS.contains(s) {
                problems.push(format!("unknown sector {s:?} for {:?}", e.venue));
            }
        }
        if e.venue.is_none() && e.sectors.is_empty() {
            problems.push(format!(
                "{} {} example has neither venue nor sector",
                e.lang, e.form
            ));
        }
        let form_fits = match e.expected {
            Type(n) if SEX_TYPES.contains(&n) => e.form == "sex",
            Type(n) if SEX_AND_LABOR_TYPES.contains(&n) => {
                e.form == "sex" || e.form == "sex_and_labor"
            }
            Type(n) => (1..=25).contains(&n) && e.form == "labor",
            Ext(code) => EXTENSIONS.contains(&code) && (e.form == "labor" || e.form == "other"),
        };
        if !form_fits {
            problems.push(format!(
                "{} {} {:?}: form does not fit {}",
                e.lang, e.form, e.venue, e.expected
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "bad table entries:\n{}",
        problems.join("\n")
    );
}

#[test]
fn table_covers_every_type_and_extension_in_every_language() {
    let mut missing = Vec::new();
    for lang in LANGS {
        let covered: BTreeSet<String> = EXAMPLES
            .iter()
            .filter(|e| e.lang == lang)
            .map(|e| e.expected.to_string())
            .collect();
        let wanted = (1..=25u8).map(Type).chain(EXTENSIONS.into_iter().map(Ext));
        for expected in wanted {
            if !covered.contains(&expected.to_string()) {
                missing.push(format!("{lang}: {expected}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no example for:\n{}",
        missing.join("\n")
    );
    assert!(EXAMPLES.len() >= 96, "only {} examples", EXAMPLES.len());
}

#[test]
fn labelled_examples_classify_as_expected() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    let mut failures = Vec::new();
    for e in EXAMPLES {
        let c = classify(&mut classifier, e.form, e.sectors, e.venue);
        if !e.expected.holds_for(&c) {
            let sectors = if e.sectors.is_empty() {
                String::new()
            } else {
                format!(" {:?}", e.sectors)
            };
            failures.push(format!(
                "{} {}{} {:?}: expected {}, got {} (rule {})",
                e.lang,
                e.form,
                sectors,
                e.venue.unwrap_or("(no venue)"),
                e.expected,
                describe(&c),
                c.rule_id.as_deref().unwrap_or("none"),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples misclassified:\n{}",
        failures.len(),
        EXAMPLES.len(),
        failures.join("\n")
    );
}

#[test]
fn a_hotel_is_escort_services_for_sex_and_hospitality_for_labor() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    for venue in ["hotel", "Hotel", "hôtel"] {
        let sex = classify(&mut classifier, "sex", &[], Some(venue));
        assert_eq!(sex.typology_id, Some(1), "sex record at {venue:?}: {sex:?}");
        let labor = classify(&mut classifier, "labor", &[], Some(venue));
        assert_eq!(
            labor.typology_id,
            Some(15),
            "labor record at {venue:?}: {labor:?}"
        );
    }
}

#[test]
fn massage_parlor_in_a_sex_record_is_illicit_massage() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    let c = classify(&mut classifier, "sex", &[], Some("massage parlor"));
    assert_eq!(c.status, "typology", "{c:?}");
    assert_eq!(c.typology_id, Some(2), "{c:?}");
}

#[test]
fn a_home_is_residential_for_sex_and_domestic_work_for_labor() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    for venue in ["a house in the suburbs", "private residence"] {
        let c = classify(&mut classifier, "sex", &[], Some(venue));
        assert_eq!(c.typology_id, Some(4), "sex record at {venue:?}: {c:?}");
    }
    let c = classify(
        &mut classifier,
        "labor",
        &[],
        Some("live-in housekeeper in a private home"),
    );
    assert_eq!(c.typology_id, Some(5), "{c:?}");
}

fn assert_undetermined(c: &Classification, context: &str) {
    assert_eq!(c.status, "undetermined", "{context}: {c:?}");
    assert_eq!(c.typology_id, None, "{context}: {c:?}");
    assert_eq!(c.extension_category, None, "{context}: {c:?}");
    assert_eq!(c.rule_id, None, "{context}: {c:?}");
    assert!(c.undetermined_reason.is_some(), "{context}: {c:?}");
}

#[test]
fn prostitution_without_a_venue_is_never_given_a_guessed_type() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    for form in ["sex", "sex_and_labor", "not_specified"] {
        for venue in [None, Some(""), Some("   ")] {
            let c = classify(&mut classifier, form, &["prostitution"], venue);
            let context = format!("{form} prostitution venue {venue:?}");
            assert_undetermined(&c, &context);
            let reason = c.undetermined_reason.as_deref().unwrap();
            assert!(reason.contains("prostitution"), "{context}: {reason}");
            assert!(reason.contains("no venue"), "{context}: {reason}");
        }
    }
}

#[test]
fn sex_record_with_no_sector_and_no_venue_is_undetermined() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    let c = classify(&mut classifier, "sex", &[], None);
    assert_undetermined(&c, "sex, no sector, no venue");
    let reason = c.undetermined_reason.as_deref().unwrap();
    assert!(reason.contains("no venue"), "{reason}");
}

#[test]
fn venue_text_that_names_no_venue_is_undetermined() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    for form in ["sex", "labor"] {
        for venue in [
            "Other",
            "lugar desconocido",
            "unknown location",
            "lieu inconnu",
        ] {
            let c = classify(&mut classifier, form, &[], Some(venue));
            let context = format!("{form} {venue:?}");
            assert_undetermined(&c, &context);
            let reason = c.undetermined_reason.as_deref().unwrap();
            assert!(reason.contains("matched no rule"), "{context}: {reason}");
        }
    }
}

#[test]
fn a_decision_carries_its_rule_confidence_and_evidence() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    let cases = [
        (
            "labor",
            "Dishwasher at a RESTAURANT downtown",
            "restaurant",
            9,
        ),
        ("sex", "Cantina en Tapachula", "cantina", 6),
        ("sex", "exploitée dans un hôtel à Montréal", "hotel", 1),
    ];
    for (form, venue, word, expected) in cases {
        let c = classify(&mut classifier, form, &[], Some(venue));
        assert_eq!(c.typology_id, Some(expected), "{venue:?}: {c:?}");
        let rule_id = c.rule_id.as_deref().unwrap_or("");
        assert!(
            !rule_id.trim().is_empty(),
            "{venue:?} has no rule id: {c:?}"
        );
        assert!(
            matches!(c.confidence, Some("high" | "medium" | "low")),
            "{venue:?} has confidence {:?}",
            c.confidence
        );
        let evidence = c.evidence.as_deref().unwrap_or("");
        assert!(
            fold(evidence).contains(word),
            "evidence for {venue:?} does not mention {word:?}: {evidence:?}"
        );
        assert_eq!(c.undetermined_reason, None, "{venue:?}: {c:?}");
    }
}

#[test]
fn case_accents_and_plurals_do_not_change_the_result() {
    let rules = rules();
    let mut classifier = Classifier::new(&rules);
    let pairs = [
        ("sex", "MASSAGE PARLORS", "massage parlor", Type(2)),
        ("sex", "Salones de Masajes", "salón de masajes", Type(2)),
        ("sex", "Hôtels", "hotels", Type(1)),
        ("sex", "HOTEL", "hôtel", Type(1)),
        ("labor", "Hôtels", "hotel", Type(15)),
        ("sex", "CANTINAS", "cantina", Type(6)),
        ("labor", "Restaurantes", "restaurante", Type(9)),
        ("labor", "Construction Sites", "construction site", Type(14)),
    ];
    for (form, variant, base, expected) in pairs {
        let base_c = classify(&mut classifier, form, &[], Some(base));
        assert!(
            expected.holds_for(&base_c),
            "{form} {base:?}: expected {expected}, got {}",
            describe(&base_c)
        );
        let variant_c = classify(&mut classifier, form, &[], Some(variant));
        assert_eq!(
            *variant_c, *base_c,
            "{form}: {variant:?} and {base:?} are classified differently"
        );
    }
}
