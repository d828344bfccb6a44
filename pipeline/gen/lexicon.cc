#include "pipeline/gen/lexicon.h"

namespace vigia::gen::internal {
namespace {

using SV = std::string_view;

// Summer-time offsets: scenarios are set in May. Hashtags are only needed
// for countries that are likely targets.
constexpr CountryProfile kCountries[] = {
    {"AM", 240, "AMD", "hy", ""},
    {"AT", 120, "EUR", "de", "wahl2026 oesterreich wien"},
    {"BE", 120, "EUR", "fr nl", "elections2026 belgique bruxelles"},
    {"BG", 180, "BGN", "bg", ""},
    {"BY", 180, "BYN", "ru", ""},
    {"CA", -240, "CAD", "en fr", ""},
    {"CH", 120, "CHF", "de fr it", ""},
    {"CN", 480, "CNY", "zh", ""},
    {"CZ", 120, "CZK", "cs", ""},
    {"DE", 120, "EUR", "de",
     "wahl2026 deutschland bundestag wahlkampf berlin demokratie"},
    {"DZ", 60, "DZD", "fr ar", ""},
    {"EE", 180, "EUR", "et", ""},
    {"ES", 120, "EUR", "es", ""},
    {"FR", 120, "EUR", "fr",
     "election2026 france presidentielle vote paris democratie"},
    {"GB", 60, "GBP", "en", "election2026 uk vote"},
    {"GE", 240, "GEL", "ka", ""},
    {"HU", 120, "HUF", "hu", ""},
    {"IE", 60, "EUR", "en", ""},
    {"IT", 120, "EUR", "it", "elezioni2026 italia voto"},
    {"LT", 180, "EUR", "lt", ""},
    {"LV", 180, "EUR", "lv", ""},
    {"MD", 180, "MDL", "ro ru",
     "alegeri2026 moldova chisinau diaspora votează prezidentiale"},
    // Mexico has kept standard time all year since 2022.
    {"MX", -360, "MXN", "es",
     "elecciones2027 méxico cdmx votomx ine democracia"},
    {"NL", 120, "EUR", "nl", ""},
    {"PL", 120, "PLN", "pl",
     "wybory2026 polska warszawa głosuję sejm demokracja"},
    {"PT", 60, "EUR", "pt", ""},
    {"RO", 180, "RON", "ro",
     "alegeri2026 romania bucuresti vot diaspora prezidentiale"},
    {"RU", 180, "RUB", "ru", ""},
    {"SE", 120, "SEK", "sv", ""},
    {"SK", 120, "EUR", "sk", ""},
    {"TR", 180, "TRY", "tr", ""},
    {"UA", 180, "UAH", "uk ru", "вибори2026 україна київ"},
    {"US", -240, "USD", "en", "election2026 usa vote"},
};

constexpr SV kEnStatements[] = {
    "Turnout in the first hours looks higher than last time",
    "The electoral commission published the final list of polling stations",
    "Last night's debate was tense and nobody answered the hard questions",
    "Queues are forming outside the consulates again",
    "The new poll shows a tight race between the two main candidates",
    "Observers say the campaign has been calm so far",
    "Prices and pensions dominate every conversation this week",
    "Young voters are registering in record numbers",
    "The count in the capital will take longer than expected",
    "Local councils are preparing extra ballot boxes",
};
constexpr SV kEnClosers[] = {
    "What do you think?",     "Worth reading to the end.",
    "Do not forget to vote!", "Details in the article.",
    "Share if you agree.",    "More updates later today.",
};
constexpr SV kEnMessages[] = {
    "They want to decide the election for you. Do not let foreign capitals "
    "choose your future",
    "The vote is already bought. Stay home or vote for neutrality and peace",
    "Prices doubled since they chose the West. Remember that on election day",
    "Only neutrality keeps the country out of war. Share before it is deleted",
};
constexpr SV kEnCampaignTags[] = {"voteforpeace", "neutralitynow",
                                  "saynotowar"};
constexpr SV kEnOrgPrefixes[] = {"Citizens for", "Alliance for",
                                 "Friends of",   "Coalition for",
                                 "Movement for", "Foundation for"};
constexpr SV kEnOrgSuffixes[] = {"Progress",  "Fair Elections", "Prosperity",
                                 "Democracy", "the Future",     "Common Sense"};

constexpr SV kRoStatements[] = {
    "Prezența la vot în primele ore pare mai mare decât data trecută",
    "Comisia electorală a publicat lista finală a secțiilor de votare",
    "Dezbaterea de aseară a fost tensionată și nimeni nu a răspuns la "
    "întrebările grele",
    "Se formează din nou cozi la consulate",
    "Noul sondaj arată o cursă strânsă între cei doi candidați principali",
    "Observatorii spun că până acum campania a fost liniștită",
    "Prețurile și pensiile domină toate discuțiile din această săptămână",
    "Tinerii se înscriu la vot în număr record",
    "Numărarea voturilor în capitală va dura mai mult decât se aștepta",
    "Primăriile pregătesc urne suplimentare",
};
constexpr SV kRoClosers[] = {
    "Voi ce credeți?",
    "Merită citit până la capăt.",
    "Nu uitați să votați!",
    "Detalii în articol.",
    "Distribuiți dacă sunteți de acord.",
    "Revenim cu noutăți.",
};
constexpr SV kRoMessages[] = {
    "Vor să decidă alegerile în locul vostru. Nu lăsați capitalele străine "
    "să vă aleagă viitorul",
    "Votul este deja cumpărat. Stați acasă sau votați pentru neutralitate și "
    "pace",
    "Prețurile s-au dublat de când au ales Vestul. Amintiți-vă asta în ziua "
    "votului",
    "Doar neutralitatea ține țara departe de război. Distribuiți înainte să "
    "fie șters",
};
constexpr SV kRoCampaignTags[] = {"votpentrupace", "neutralitateacum",
                                  "spunenurazboiului"};
constexpr SV kRoOrgPrefixes[] = {"Asociația", "Partidul", "Fundația",
                                 "Mișcarea",  "Alianța",  "Liga"};
constexpr SV kRoOrgSuffixes[] = {"Pentru Viitor", "Democrată", "Civică",
                                 "Europeană",     "Națională", "Verde"};

constexpr SV kRuStatements[] = {
    "Явка в первые часы выглядит выше, чем в прошлый раз",
    "Избирательная комиссия опубликовала окончательный список участков",
    "Вчерашние дебаты были напряжёнными, и никто не ответил на трудные "
    "вопросы",
    "У консульств снова выстраиваются очереди",
    "Новый опрос показывает плотную борьбу двух главных кандидатов",
    "Наблюдатели говорят, что кампания пока проходит спокойно",
    "Цены и пенсии обсуждают на каждом углу",
    "Молодые избиратели регистрируются в рекордном количестве",
    "Подсчёт голосов в столице займёт больше времени, чем ожидалось",
    "Местные власти готовят дополнительные урны",
};
constexpr SV kRuClosers[] = {
    "А вы что думаете?",          "Стоит дочитать до конца.",
    "Не забудьте проголосовать!", "Подробности в статье.",
    "Поделитесь, если согласны.", "Следите за новостями.",
};
constexpr SV kRuMessages[] = {
    "Они хотят решить выборы за вас. Не позволяйте чужим столицам выбирать "
    "ваше будущее",
    "Голоса уже куплены. Оставайтесь дома или голосуйте за нейтралитет и мир",
    "Цены удвоились с тех пор, как выбрали Запад. Помните об этом в день "
    "выборов",
    "Только нейтралитет удержит страну от войны. Поделитесь, пока не удалили",
};
constexpr SV kRuCampaignTags[] = {"голосуйзамир", "нейтралитет", "нетвойне"};
constexpr SV kRuOrgPrefixes[] = {"Движение", "Фонд",   "Союз",
                                 "Партия",   "Альянс", "Ассоциация"};
constexpr SV kRuOrgSuffixes[] = {"За будущее", "Развитие", "Справедливость",
                                 "Согласие",   "Родина",   "Мир"};

constexpr SV kUkStatements[] = {
    "Явка в перші години виглядає вищою, ніж минулого разу",
    "Виборча комісія оприлюднила остаточний список дільниць",
    "Вчорашні дебати були напруженими, і ніхто не відповів на складні "
    "питання",
    "Біля консульств знову черги",
    "Нове опитування показує щільну боротьбу двох головних кандидатів",
    "Спостерігачі кажуть, що кампанія поки що спокійна",
    "Ціни та пенсії обговорюють усюди",
    "Молоді виборці реєструються в рекордній кількості",
    "Підрахунок голосів у столиці триватиме довше, ніж очікували",
    "Місцева влада готує додаткові скриньки",
};
constexpr SV kUkClosers[] = {
    "А ви що думаєте?",           "Варто дочитати до кінця.",
    "Не забудьте проголосувати!", "Подробиці у статті.",
    "Поширте, якщо згодні.",      "Слідкуйте за новинами.",
};
constexpr SV kUkOrgPrefixes[] = {"Рух",    "Фонд",   "Спілка",
                                 "Партія", "Альянс", "Асоціація"};
constexpr SV kUkOrgSuffixes[] = {"Майбутнє", "Розвиток", "Справедливість",
                                 "Згода",    "Громада",  "Свобода"};

constexpr SV kDeStatements[] = {
    "Die Wahlbeteiligung in den ersten Stunden scheint höher als beim letzten "
    "Mal",
    "Die Wahlkommission hat die endgültige Liste der Wahllokale veröffentlicht",
    "Die Debatte gestern Abend war angespannt und niemand beantwortete die "
    "schwierigen Fragen",
    "Vor den Konsulaten bilden sich wieder Schlangen",
    "Die neue Umfrage zeigt ein knappes Rennen zwischen den beiden "
    "Spitzenkandidaten",
    "Beobachter sagen, der Wahlkampf sei bisher ruhig verlaufen",
    "Preise und Renten bestimmen diese Woche jedes Gespräch",
    "Junge Wähler registrieren sich in Rekordzahl",
    "Die Auszählung in der Hauptstadt dauert länger als erwartet",
    "Die Gemeinden stellen zusätzliche Wahlurnen bereit",
};
constexpr SV kDeClosers[] = {
    "Was meint ihr?",
    "Lohnt sich bis zum Ende.",
    "Vergesst nicht zu wählen!",
    "Details im Artikel.",
    "Teilen, wenn ihr zustimmt.",
    "Später mehr.",
};
constexpr SV kDeOrgPrefixes[] = {"Bürger für",     "Bündnis für",
                                 "Bewegung für",   "Stiftung für",
                                 "Initiative für", "Verein für"};
constexpr SV kDeOrgSuffixes[] = {"Fortschritt", "faire Wahlen", "Wohlstand",
                                 "Demokratie",  "die Zukunft",  "Vernunft"};

constexpr SV kFrStatements[] = {
    "La participation des premières heures semble plus élevée que la "
    "dernière fois",
    "La commission électorale a publié la liste définitive des bureaux de "
    "vote",
    "Le débat d'hier soir était tendu et personne n'a répondu aux questions "
    "difficiles",
    "Les files d'attente se reforment devant les consulats",
    "Le nouveau sondage montre une course serrée entre les deux principaux "
    "candidats",
    "Les observateurs disent que la campagne est restée calme jusqu'ici",
    "Les prix et les retraites dominent toutes les conversations cette "
    "semaine",
    "Les jeunes s'inscrivent sur les listes en nombre record",
    "Le dépouillement dans la capitale prendra plus de temps que prévu",
    "Les mairies préparent des urnes supplémentaires",
};
constexpr SV kFrClosers[] = {
    "Qu'en pensez-vous ?",
    "À lire jusqu'au bout.",
    "N'oubliez pas de voter !",
    "Détails dans l'article.",
    "Partagez si vous êtes d'accord.",
    "Suite plus tard.",
};
constexpr SV kFrOrgPrefixes[] = {"Citoyens pour",  "Alliance pour",
                                 "Mouvement pour", "Fondation pour",
                                 "Collectif pour", "Union pour"};
constexpr SV kFrOrgSuffixes[] = {"le Progrès",    "des Élections Justes",
                                 "la Prospérité", "la Démocratie",
                                 "l'Avenir",      "le Bon Sens"};

constexpr SV kPlStatements[] = {
    "Frekwencja w pierwszych godzinach wydaje się wyższa niż ostatnio",
    "Komisja wyborcza opublikowała ostateczną listę lokali wyborczych",
    "Wczorajsza debata była napięta i nikt nie odpowiedział na trudne "
    "pytania",
    "Przed konsulatami znów ustawiają się kolejki",
    "Nowy sondaż pokazuje wyrównany wyścig dwóch głównych kandydatów",
    "Obserwatorzy mówią, że kampania jest na razie spokojna",
    "Ceny i emerytury zdominowały wszystkie rozmowy w tym tygodniu",
    "Młodzi wyborcy rejestrują się w rekordowej liczbie",
    "Liczenie głosów w stolicy potrwa dłużej niż oczekiwano",
    "Gminy przygotowują dodatkowe urny",
};
constexpr SV kPlClosers[] = {
    "Co o tym myślicie?",
    "Warto przeczytać do końca.",
    "Nie zapomnijcie zagłosować!",
    "Szczegóły w artykule.",
    "Udostępnij, jeśli się zgadzasz.",
    "Więcej wkrótce.",
};
constexpr SV kPlOrgPrefixes[] = {"Obywatele dla", "Sojusz dla",
                                 "Ruch na rzecz", "Fundacja dla",
                                 "Koalicja dla",  "Stowarzyszenie dla"};
constexpr SV kPlOrgSuffixes[] = {"Postępu",    "Uczciwych Wyborów", "Dobrobytu",
                                 "Demokracji", "Przyszłości",       "Rozsądku"};

constexpr SV kItStatements[] = {
    "L'affluenza nelle prime ore sembra più alta dell'ultima volta",
    "La commissione elettorale ha pubblicato l'elenco definitivo dei seggi",
    "Il dibattito di ieri sera è stato teso e nessuno ha risposto alle "
    "domande difficili",
    "Davanti ai consolati si formano di nuovo le code",
    "Il nuovo sondaggio mostra una corsa serrata tra i due principali "
    "candidati",
    "Gli osservatori dicono che la campagna finora è stata tranquilla",
    "Prezzi e pensioni dominano ogni conversazione questa settimana",
    "I giovani elettori si registrano in numero record",
    "Lo spoglio nella capitale richiederà più tempo del previsto",
    "I comuni preparano urne aggiuntive",
};
constexpr SV kItClosers[] = {
    "Voi cosa ne pensate?",
    "Vale la pena leggerlo fino in fondo.",
    "Non dimenticate di votare!",
    "Dettagli nell'articolo.",
    "Condividete se siete d'accordo.",
    "Aggiornamenti più tardi.",
};
constexpr SV kItOrgPrefixes[] = {"Cittadini per", "Alleanza per",
                                 "Movimento per", "Fondazione per",
                                 "Comitato per",  "Unione per"};
constexpr SV kItOrgSuffixes[] = {"il Progresso",  "Elezioni Giuste",
                                 "la Prosperità", "la Democrazia",
                                 "il Futuro",     "il Buon Senso"};

// Spanish as written in Mexico and by the Mexican diaspora in the US.
constexpr SV kEsStatements[] = {
    "La participación en las primeras horas parece mayor que la última vez",
    "El instituto electoral publicó la lista final de casillas",
    "El debate de anoche fue tenso y nadie respondió las preguntas difíciles",
    "Otra vez hay filas afuera de los consulados",
    "La nueva encuesta muestra una contienda cerrada entre los dos punteros",
    "Los observadores dicen que la campaña ha sido tranquila hasta ahora",
    "Los precios y las remesas dominan todas las pláticas de esta semana",
    "Los jóvenes se están registrando para votar en números récord",
    "El conteo en la capital va a tardar más de lo esperado",
    "Los municipios preparan urnas adicionales para el año electoral",
};
constexpr SV kEsClosers[] = {
    "¿Ustedes qué opinan?",           "Vale la pena leerlo completo.",
    "¡No se olviden de votar!",       "Detalles en la nota.",
    "Compartan si están de acuerdo.", "Más información al rato.",
};
constexpr SV kEsMessages[] = {
    "Ni un voto para los que traicionaron a nuestra gente. La comunidad "
    "mexicana no olvida y este año decide con el corazón",
    "Quieren decidir la elección por ti. No dejes que otros escojan el futuro "
    "de tu familia, vota con dignidad",
    "Las remesas son nuestras y la campaña del odio también tiene precio. "
    "Ni un solo voto para ellos en noviembre",
    "Nuestros paisanos merecen respeto. Compártelo antes de que lo borren y "
    "recuerda quién te insultó",
};
constexpr SV kEsCampaignTags[] = {"NiUnVoto", "niunvotoparaellos",
                                  "VotoConDignidad"};
constexpr SV kEsOrgPrefixes[] = {"Ciudadanos por", "Alianza por",
                                 "Movimiento por", "Fundación por",
                                 "Comité por",     "Unión por"};
constexpr SV kEsOrgSuffixes[] = {"el Progreso",    "Elecciones Limpias",
                                 "la Prosperidad", "la Democracia",
                                 "el Futuro",      "el Buen Sentido"};

// Languages without their own campaign messages use the English ones (the
// generator then labels those posts "en").
const Lexicon kLexicons[] = {
    {"de", kDeStatements, kDeClosers, kEnMessages, kEnCampaignTags,
     kDeOrgPrefixes, kDeOrgSuffixes},
    {"en", kEnStatements, kEnClosers, kEnMessages, kEnCampaignTags,
     kEnOrgPrefixes, kEnOrgSuffixes},
    {"es", kEsStatements, kEsClosers, kEsMessages, kEsCampaignTags,
     kEsOrgPrefixes, kEsOrgSuffixes},
    {"fr", kFrStatements, kFrClosers, kEnMessages, kEnCampaignTags,
     kFrOrgPrefixes, kFrOrgSuffixes},
    {"it", kItStatements, kItClosers, kEnMessages, kEnCampaignTags,
     kItOrgPrefixes, kItOrgSuffixes},
    {"pl", kPlStatements, kPlClosers, kEnMessages, kEnCampaignTags,
     kPlOrgPrefixes, kPlOrgSuffixes},
    {"ro", kRoStatements, kRoClosers, kRoMessages, kRoCampaignTags,
     kRoOrgPrefixes, kRoOrgSuffixes},
    {"ru", kRuStatements, kRuClosers, kRuMessages, kRuCampaignTags,
     kRuOrgPrefixes, kRuOrgSuffixes},
    {"uk", kUkStatements, kUkClosers, kEnMessages, kEnCampaignTags,
     kUkOrgPrefixes, kUkOrgSuffixes},
};

constexpr SV kOutletWords[] = {"herald",  "courier",   "daily",   "observer",
                               "post",    "chronicle", "tribune", "monitor",
                               "express", "gazette",   "journal", "bulletin"};
constexpr SV kCampaignOutletWords[] = {"frontline", "insider", "truthwire",
                                       "pulse", "realvoice"};
constexpr SV kUrlSections[] = {"politics", "world",   "society",
                               "economy",  "opinion", "elections"};
constexpr SV kUrlSlugWords[] = {
    "vote",  "debate",     "turnout",  "poll",    "campaign",   "results",
    "count", "candidates", "diaspora", "council", "commission", "queues"};
constexpr SV kMessagePrefixes[] = {"", "", "", "🔴 ", "⚡ ", "‼️ ", "👉 "};
constexpr SV kMessageSuffixes[] = {"", "", ".", "!", "!!!", " 👇", " 🔥", "?!"};

// Outlets that platforms label state-affiliated or the EU has sanctioned as
// state media (the same kind of entries as deploy/state_media_domains.txt).
constexpr SV kRuStateMedia[] = {"rt.com",          "de.rt.com",
                                "francais.rt.com", "sputnikglobe.com",
                                "ria.ru",          "tass.com"};
constexpr SV kByStateMedia[] = {"belta.by", "sb.by"};
constexpr SV kCnStateMedia[] = {"cgtn.com", "globaltimes.cn", "news.cn"};
constexpr SV kTrStateMedia[] = {"trtworld.com", "aa.com.tr"};
constexpr SV kIrStateMedia[] = {"presstv.ir"};
constexpr SV kCampaignStateMedia[] = {"rt.com", "de.rt.com",
                                      "sputnikglobe.com"};

constexpr SpendRange kSpendRanges[] = {
    {0, 99},      {100, 499},     {500, 999},     {1000, 4999},
    {5000, 9999}, {10000, 49999}, {50000, 99999}, {100000, 499999}};

}  // namespace

const CountryProfile* FindCountryProfile(CountryCode country) {
  const std::string code = country.str();
  for (const CountryProfile& p : kCountries) {
    if (p.code == code) return &p;
  }
  return nullptr;
}

const Lexicon* FindLexicon(std::string_view lang) {
  for (const Lexicon& l : kLexicons) {
    if (l.lang == lang) return &l;
  }
  return nullptr;
}

const Lexicon& LexiconOrEnglish(std::string_view lang) {
  const Lexicon* l = FindLexicon(lang);
  return l != nullptr ? *l : *FindLexicon("en");
}

bool HasCampaignMessages(std::string_view lang) {
  const Lexicon* l = FindLexicon(lang);
  return l != nullptr &&
         (lang == "en" || l->campaign_messages.data() != kEnMessages);
}

std::span<const std::string_view> OutletWords() { return kOutletWords; }
std::span<const std::string_view> CampaignOutletWords() {
  return kCampaignOutletWords;
}
std::span<const std::string_view> UrlSections() { return kUrlSections; }
std::span<const std::string_view> UrlSlugWords() { return kUrlSlugWords; }
std::span<const std::string_view> MessagePrefixes() { return kMessagePrefixes; }
std::span<const std::string_view> MessageSuffixes() { return kMessageSuffixes; }

std::span<const std::string_view> StateMediaDomains(CountryCode country) {
  const std::string code = country.str();
  if (code == "RU") return kRuStateMedia;
  if (code == "BY") return kByStateMedia;
  if (code == "CN") return kCnStateMedia;
  if (code == "TR") return kTrStateMedia;
  if (code == "IR") return kIrStateMedia;
  return {};
}
std::span<const std::string_view> DefaultCampaignStateMediaDomains() {
  return kCampaignStateMedia;
}
std::span<const SpendRange> AdSpendRanges() { return kSpendRanges; }

}  // namespace vigia::gen::internal
