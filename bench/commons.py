"""French full-text search over 100,000 commons, on SQLite (FTS5) and PostgreSQL; with
`--write`, appends (or replaces) the « ## Recherche dans les communs » section of
bench/RESULTS.md.

    python bench/commons.py [--size 100000] [--engines sqlite,postgresql] [--rounds 5]
                            [--timeout 5400] [--keep] [--write]

Per engine: a fresh database — SQLite: a new data directory under bench/out/ (removed at the
end unless --keep); PostgreSQL: the database `conciergerie_bench_commons`, dropped and
created again — migrated, with one place and N commons (default 100,000) that look real:
names, summaries, descriptions of 60 to 200 words and tags drawn from a French vocabulary of
about 2,000 words (tiers-lieux, associations, software, fabrication, culture… and generic
words) with a Zipf-like frequency — a few words are in most commons, most are rare; a third
of the names carry an invented brand (unique words, as software names are). One theme per
commons gives its domains (1 to 3 of the 30) and draws a third of its words, so that words of
a field meet in the same commons. Kinds, actions and grid values spread over their choices;
every commons validated. Written in bulk, as the services would index them: `Commons`
objects, `search.index_fields` on each, `bulk_create` by 2,000, the domains through the
through table, `search.vocabulary_add` over each batch's name, summary and keywords (what
`commons_create` feeds it); then ANALYZE (PostgreSQL: VACUUM ANALYZE), what autovacuum would
have done by then. Generation time is reported apart: it is not part of the goal.

Measures, in a new process (each engine is its own Django setup): ~65 fixed searches of 1 to
4 words — common and rare words, accents missing, plurals, typos, a few with the kind or
action filter, one exact name — through `selectors.catalogue.commons_search(place=…, q=…,
kind=…, action=…)`, the public selector the page calls; one warm-up round, then `--rounds`
rounds in a shuffled order; wall time of each call (time.perf_counter). Baseline, interleaved
with the searches in the same rounds: `Commons.objects.filter(place=place, slug=…).first()`,
one indexed row — the report gives p95 / baseline p50. Then `selectors.aiguillage.suggest` on
11 needs written as people write them (no goal: informative). Last, a split of each search
(typo correction `search.corrected`, ranking `search.ranked_ids`, the rest: the ORM fetch)
and, for the slowest ones, how many commons match and the engine's plan (EXPLAIN).

Steps run as `python bench/commons.py _generate|_measure` in the engine's environment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import random
import shutil
import statistics
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402 - bench/run.py, the benches' shared helpers
    OUT,
    ROOT,
    Deadline,
    django_setup,
    machine,
    objectives,
    percentile,
    pg_server,
    run_step,
    write_section,
)

SECTION = "Recherche dans les communs"
SLUG = "banc-communs"
PG_NAME = "conciergerie_bench_commons"
GOAL_MS = 30.0
SIZE = 100_000
BATCH = 2000
SEED = 20261124
ZIPF_S = 1.0  # exponent
ZIPF_Q = 8.0  # offset (Zipf–Mandelbrot): the top words are common, not in every commons

# --- Vocabulary ----------------------------------------------------------------------------------
# Theme (a domain of the catalogue) → its words, most typical first. Multi-word expressions
# are left as words: the generator strings words into sentences.
THEMES: dict[str, str] = {
    "gestion associative": """
        association adhésion adhérent cotisation bénévole bénévolat assemblée générale bureau
        président trésorier secrétaire statuts règlement intérieur conseil administration membre
        sociétaire subvention dossier convention partenariat mécénat don reçu fiscal rapport
        moral bilan activité vie associative fédération réseau loi déclaration préfecture
        agrément registre procès-verbal mandat élection vote quorum délégation engagement
        civique volontariat service civique employeur salarié contrat aidé fichier contacts
        relance campagne échéance renouvellement carte annuaire lettre information collectif
        projet associatif gouvernance partagée association loi animateur coordinateur
        responsable référent commission groupe travail permanence accueil local siège
        domiciliation assurance responsabilité civile sécurité juridique fiscal impôt
        exonération intérêt général utilité publique reconnaissance emploi associatif formation
        bénévoles fidélisation recrutement parcours bénévole
    """,
    "comptabilité": """
        comptabilité comptable compte bilan résultat budget prévisionnel trésorerie banque
        rapprochement bancaire écriture journal grand livre plan comptable exercice clôture
        facture devis avoir paiement encaissement décaissement recette dépense note frais
        remboursement justificatif pièce caisse chèque virement prélèvement espèces carte
        bancaire terminal paiement tarif prix libre barème adhésion cotisation abonnement
        analytique ventilation immobilisation amortissement provision charge produit marge
        déclaration TVA fiscalité impôt taxe liasse expert commissaire comptes audit contrôle
        export fichier écritures comptables FEC logiciel comptabilité tableur saisie lettrage
        rapprochement relevé solde découvert prêt emprunt fonds propres capital réserve
        subvention exploitation investissement financement participatif crowdfunding mécénat
        levée fonds trésorier facturation relance impayé échéancier monnaie locale
    """,
    "communication": """
        communication lettre information infolettre newsletter courriel mail publipostage
        affiche flyer tract brochure plaquette logo charte graphique identité visuelle site
        internet page accueil blog article actualité agenda calendrier événement réseaux sociaux
        publication abonné audience visibilité presse journaliste communiqué dossier relation
        publique campagne message slogan photo photographie illustration visuel bannière vidéo
        podcast radio émission interview portrait témoignage récit histoire storytelling
        rédaction écriture relecture traduction mailing liste diffusion contact fichier
        formulaire inscription sondage enquête questionnaire statistique mesure fréquentation
        référencement mot clé moteur recherche hashtag fil actualité mastodon fédivers fédéré
        décentralisé libre signalétique panneau enseigne vitrine kakémono stand salon forum
        rencontre graphiste maquette mise page impression imprimeur papier recyclé encre
    """,
    "gouvernance": """
        gouvernance partagée décision consentement consensus sociocratie holacratie élection
        sans candidat cercle rôle mandat tension proposition objection amendement vote majorité
        pondéré jugement majoritaire délibération concertation participation citoyen citoyenne
        démocratie participative budget participatif conseil comité pilotage collège multi-
        acteurs coopérative SCIC SCOP sociétaire associé part sociale statuts pacte raison être
        charte valeurs éthique transparence confiance facilitation facilitateur animation
        réunion ordre jour compte rendu relevé décisions conflit médiation écoute bienveillance
        communication non violente intelligence collective co-construction coopération
        collaboration horizontalité autonomie responsabilité délégation subsidiarité holarchie
        organigramme cercle ancrage communs commoners régulation règle usage accès ressource
        partagée biens communs Ostrom gouvernance ouverte contribution contributeur
        reconnaissance
    """,
    "cartographie": """
        cartographie carte plan géographique géolocalisation coordonnées latitude longitude
        adresse territoire commune département région quartier village ville campagne rural
        urbain périurbain bassin vie itinéraire trajet parcours randonnée sentier point intérêt
        marqueur couche fond carte tuile projection SIG géomatique données géographiques
        OpenStreetMap contributeur relevé terrain cadastre parcelle annuaire acteurs recensement
        inventaire diagnostic territorial observatoire visualisation interactive filtre légende
        catégorie icône export GeoJSON localisation proximité distance rayon zone périmètre
        frontière limite maillage tiers-lieux réseau régional carte collaborative GoGoCarto
        Mobilizon circuit court producteur marché ressource locale lieu ressource repère
        orientation
    """,
    "visioconférence": """
        visioconférence visio réunion distance appel vidéo audio micro caméra casque écran
        partage écran salle virtuelle lien invitation participant modérateur enregistrement
        diffusion direct webinaire conférence table ronde atelier distance télétravail travail
        distance hybride présentiel distanciel connexion bande passante navigateur application
        mobile ordinateur tablette téléphone chat messagerie instantanée discussion fil canal
        salon serveur Jitsi BigBlueButton Matrix sous-titrage accessibilité traduction
        simultanée tableau blanc collaboratif sondage direct main levée silence coupure latence
        qualité son image
    """,
    "fabrication": """
        fabrication fablab atelier makerspace hackerspace machine outil outillage imprimante
        impression découpeuse laser fraiseuse numérique CNC tour perceuse scie ponceuse soudure
        soudeur poste souder étain électronique composant circuit carte Arduino Raspberry
        capteur moteur robot robotique prototype prototypage maquette modélisation conception
        assistée ordinateur CAO DAO fichier STL filament PLA résine bois contreplaqué médium
        métal aluminium acier plastique textile tissu couture machine coudre brodeuse
        sérigraphie gravure menuiserie ébénisterie charpente serrurerie mécanique réparation
        repair café réemploi recyclage upcycling bricolage établi étau serre-joint visserie
        quincaillerie peinture vernis colle sécurité consignes habilitation formation machine
        réservation créneau open hardware plan libre documentation projet fabricant artisan
        artisanat céramique poterie four émail verre vitrail cuir maroquinerie bijouterie
        thermoformage découpe vinyle plotter scanner numérisation tridimensionnelle
    """,
    "documentation": """
        documentation wiki page article recette tutoriel guide mode emploi fiche pratique manuel
        notice procédure protocole méthode retour expérience capitalisation mémoire archive
        archivage base connaissances glossaire lexique définition référence bibliographie source
        licence libre Creative Commons partage attribution réutilisation contribution
        modification historique révision version brouillon relecture publication édition éditeur
        Markdown texte image schéma illustration sommaire chapitre section catégorie étiquette
        indexation moteur recherche Movilab code social savoir-faire transmission pair
        apprentissage communauté pratique documentation ouverte open source code source dépôt
        forge contribution traduction accessibilité lisibilité vulgarisation synthèse compte
        rendu
    """,
    "réservation d'espaces": """
        réservation espace salle bureau poste travail coworking open space salle réunion salle
        formation auditorium cuisine partagée atelier studio local planning calendrier créneau
        disponibilité agenda partagé location tarif horaire demi-journée journée forfait
        abonnement résident nomade accès badge clé serrure connectée capacité jauge équipement
        vidéoprojecteur écran paperboard sonorisation mobilier ménage entretien état lieux
        règlement utilisation conditions générales annulation confirmation rappel facture
        paiement en ligne accueil conciergerie gestion lieu occupation taux remplissage
        statistiques fréquentation logiciel réservation
    """,
    "partage de fichiers": """
        partage fichiers document dossier stockage nuage cloud serveur synchronisation
        sauvegarde copie restauration archive chiffrement sécurité confidentialité données
        personnelles RGPD hébergement hébergeur CHATONS Nextcloud Framasoft drive espace disque
        quota lien partage mot passe droits accès permission utilisateur groupe compte
        authentification collaboration édition collaborative traitement texte tableur
        présentation diaporama format ouvert ODF PDF export import conversion version historique
        corbeille agenda contacts tâches notes pad collaboratif Etherpad CryptPad bloc-notes
        wiki interne intranet
    """,
    "formation": """
        formation formateur formatrice apprenant stagiaire élève étudiant enseignant pédagogie
        pédagogique module séquence séance cours atelier initiation perfectionnement parcours
        compétence certification diplôme attestation évaluation quiz exercice pratique théorie
        support cours présentation classe inversée apprentissage pair éducation populaire
        médiation numérique inclusion numérique illettrisme accompagnement tutorat mentorat
        coaching reconversion professionnelle insertion emploi orientation bilan compétences
        organisme formation Qualiopi financement CPF OPCO plan développement université
        populaire conférence cycle rencontre transmission savoir MOOC plateforme apprentissage
        en ligne Moodle vidéo tutoriel ressources éducatives
    """,
    "vidéo": """
        vidéo film court métrage documentaire tournage montage caméra objectif trépied éclairage
        lumière prise son micro perche mixage étalonnage sous-titres générique diffusion
        projection ciné-club cinéma salle projection plateforme vidéo PeerTube chaîne abonnés
        direct streaming captation spectacle enregistrement archive audiovisuel réalisateur
        réalisation scénario storyboard acteur figurant animation stop motion effets spéciaux
        logiciel montage rendu export format podcast radio associative émission studio
        enregistrement voix doublage
    """,
    "sondages et décisions": """
        sondage vote décision proposition discussion débat argument consultation questionnaire
        formulaire réponse choix date rendez-vous planification disponibilité préférence
        classement jugement majoritaire consentement délibération Loomio Decidim Framadate
        Framavox plateforme participation pétition budget participatif idée suggestion boîte
        idées priorisation résultat dépouillement anonymat transparence quorum majorité
        unanimité
    """,
    "bureautique": """
        bureautique traitement texte tableur tableau feuille calcul formule graphique
        présentation diaporama diapositive modèle gabarit lettre courrier publipostage
        LibreOffice OnlyOffice Writer Calc Impress document PDF impression imprimante scanner
        numérisation classement rangement dossier fichier nommage sauvegarde messagerie agenda
        contacts tâches ordinateur portable clavier souris écran système exploitation Linux
        logiciel libre installation mise jour sécurité antivirus mot passe gestionnaire KeePass
        navigateur extension
    """,
    "culture": """
        culture culturel spectacle vivant théâtre danse musique concert festival scène
        répétition résidence artiste artistique création compagnie troupe chorale orchestre
        exposition galerie musée patrimoine conte lecture bibliothèque médiathèque livre
        écriture atelier écriture poésie slam bande dessinée illustration photographie arts
        plastiques peinture sculpture dessin graffiti street art fresque murale programmation
        saison billetterie public spectateur médiation culturelle éducation artistique action
        culturelle droits culturels pratique amateur cinéma projection débat café culturel bal
        guinguette fête quartier carnaval jeu société ludothèque jeux vidéo escape game
        animation enfants famille
    """,
    "alimentation": """
        alimentation agriculture jardin potager jardin partagé compost compostage permaculture
        maraîchage légume fruit verger semence graine plant serre récolte cueillette conserve
        bocal cuisine cuisinier repas cantine restaurant traiteur épicerie solidaire vrac
        circuit court producteur local paysan ferme AMAP panier marché coopérative alimentaire
        groupement achat supermarché coopératif boulangerie pain fromage brasserie bière miel
        apiculture ruche poulailler élevage pâturage terres agricoles foncier installation
        agricole gaspillage alimentaire glanage invendus banque alimentaire sécurité alimentaire
    """,
    "numérique": """
        numérique logiciel libre open source code source développeur développement programmation
        application web mobile serveur hébergement nom domaine DNS base données API interface
        utilisateur ergonomie accessibilité design sécurité informatique sauvegarde mise jour
        maintenance infogérance support utilisateur documentation technique installation
        déploiement conteneur Docker Linux Debian Ubuntu Python JavaScript PHP Django WordPress
        Drupal framework licence AGPL GPL MIT MPL contribution dépôt Git GitLab forge ticket
        bogue fonctionnalité version mise production test intégration continue interopérabilité
        standard format ouvert données ouvertes open data portail souveraineté numérique
        sobriété numérique éco-conception réemploi matériel ordinateur reconditionné réparation
        informatique fracture numérique
    """,
    "économie sociale": """
        économie sociale solidaire ESS coopérative SCIC SCOP mutuelle fondation entreprise
        sociale insertion activité économique chantier insertion emploi local développement
        économique territoire entrepreneuriat incubateur pépinière accélérateur couveuse
        coopérative activité emploi CAE porteur projet création entreprise modèle économique
        plan affaires étude marché clientèle chiffre affaires rentabilité viabilité hybridation
        ressources mécénat compétences utilité sociale impact social mesure impact évaluation
        marché public commande publique appel projets appel offres subvention financement
        solidaire épargne solidaire prêt honneur garantie banque monnaie locale complémentaire
        échange troc système échange local SEL
    """,
    "mobilité": """
        mobilité transport vélo vélo cargo atelier vélo réparation vélo autopartage covoiturage
        navette transport solidaire transport demande voiture partagée trottinette marche
        piétonne itinéraire cyclable stationnement abri vélos location vélos électriques
        batterie recharge borne déplacement domicile travail mobilité rurale isolement
        accessibilité personnes mobilité réduite
    """,
    "énergie": """
        énergie renouvelable solaire photovoltaïque panneau éolien éolienne biomasse chaufferie
        bois chauffage isolation rénovation énergétique bâtiment passif consommation sobriété
        énergétique économie énergie facture électricité compteur autoconsommation coopérative
        énergie citoyenne centrale villageoise audit énergétique diagnostic thermique climat
        transition écologique carbone empreinte bilan carbone adaptation climatique biodiversité
        eau récupération
    """,
    "réemploi": """
        réemploi recyclage ressourcerie recyclerie déchet déchetterie tri collecte valorisation
        matériaux seconde main objet don troc gratuiterie boîte à dons réparation repair café
        bricothèque outilthèque prêt objets bibliothèque objets économie circulaire zéro déchet
        compostage vrac consigne emballage textile friperie vêtement couture retouche meuble
        mobilier relooking électroménager matériaux construction réemploi chantier
        déconstruction bois récupération palette
    """,
    "tiers-lieux": """
        tiers-lieu tiers-lieux lieu hybride espace partagé communauté habitants voisins quartier
        village territoire friche bâtiment patrimoine réhabilitation occupation temporaire
        urbanisme transitoire café associatif bar cantine accueil convivialité rencontre lien
        social mixité inclusion ouverture programmation animation concierge conciergerie
        gestionnaire facilitateur animateur coordination manifeste réseau national régional
        France Tiers-Lieux fabrique territoires AMI appel manifestation intérêt labellisation
        accompagnement essaimage modèle économique hybridation ressources usagers contributeurs
        résidents gouvernance ouverte communauté apprenante laboratoire expérimentation
        incubation projets citoyens initiative locale transition écologique services publics
        maison services France services médiation sociale
    """,
    "santé et social": """
        santé prévention soin soignant infirmier médecin généraliste maison santé
        pluriprofessionnelle centre social espace vie sociale aidant aidants proches autonomie
        perte dépendance personnes âgées EHPAD domicile maintien portage repas handicap
        psychique mental santé mentale écoute soutien psychologique groupe parole pair-aidance
        addiction réduction risques nutrition activité physique adaptée accès droits ouverture
        droits assistante sociale travail social CAF CPAM RSA logement hébergement urgence
        précarité pauvreté exclusion lutte isolement solidarité intergénérationnelle visite
        bénévole lien social migrant exilé réfugié demandeur asile apprentissage français
        alphabétisation FLE interprétariat médiation santé parentalité petite enfance crèche
        halte-garderie assistante maternelle relais parents enfants adolescents jeunesse
    """,
    "habitat": """
        habitat participatif logement coopérative habitants colocation intergénérationnelle
        habitat léger yourte tiny house cabane construction autoconstruction chantier
        participatif écoconstruction paille terre crue chanvre chaux enduit isolation charpente
        toiture ossature bois architecte architecture plan permis construire urbanisme foncier
        solidaire bail emphytéotique propriété collective copropriété rénovation réhabilitation
        bâti ancien patrimoine bâti diagnostic structure accessibilité normes établissement
        recevant public ERP sécurité incendie commission sécurité extincteur issue secours
        évacuation
    """,
    "sport et loisirs": """
        sport club sportif activité physique randonnée marche course vélo escalade natation yoga
        gymnastique danse arts martiaux football basket handball pétanque tennis table ping-pong
        jeux plein air sortie nature séjour colonie camp scout éducation sportive licence
        compétition tournoi match entraînement entraîneur arbitre équipement terrain gymnase
        piscine stade loisir détente jeu jeux ludique ludothèque soirée jeux tournoi jeux
    """,
    "juridique": """
        droit juridique juriste avocat notaire contrat bail convention occupation précaire
        statut juridique forme juridique association SAS SARL SCI responsabilité assurance
        sinistre litige contentieux médiation conciliation propriété intellectuelle droit auteur
        marque dépôt brevet licence libre conditions générales mentions légales politique
        confidentialité RGPD consentement cookie registre traitements délégué protection données
        CNIL droit travail code travail convention collective fiche paie bulletin salaire
        embauche licenciement rupture conventionnelle prud'hommes inspection commande publique
        marché public délégation service public concession
    """,
    "sciences": """
        science sciences participatives recherche chercheur laboratoire université expérience
        observation mesure protocole données ouvertes science ouverte biologie écologie
        botanique entomologie ornithologie astronomie télescope météorologie station météo
        qualité air capteur pollution bruit eau rivière physique chimie mathématiques
        informatique médiation scientifique vulgarisation culture scientifique technique
        industrielle CCSTI fête science club recherche-action co-recherche savoirs citoyens
        épistémologie thèse doctorant
    """,
    "tourisme": """
        tourisme durable accueil touristique hébergement gîte chambre hôtes camping itinérance
        randonnée circuit découverte visite guidée patrimoine naturel office tourisme
        destination saison estivale hors saison réservation séjour agritourisme tourisme social
        solidaire vacances séjours voyageurs
    """,
    "emploi": """
        emploi chômage demandeur emploi recherche emploi candidature curriculum vitae lettre
        motivation entretien embauche recrutement offre emploi intérim insertion professionnelle
        accompagnement emploi France Travail Pôle mission locale jeunes apprentissage alternance
        stage stagiaire service civique travail indépendant freelance auto-entrepreneur micro-
        entreprise portage salarial groupement employeurs temps partagé coopérative activité
        emploi télétravail espace coworking réseau professionnel compétences transversales
    """,
    "éducation": """
        école collège lycée université enseignant professeur instituteur élève parent élèves
        périscolaire accompagnement scolaire aide devoirs soutien scolaire décrochage scolaire
        éducation populaire éducation nature environnement classe dehors pédagogie active
        Montessori Freinet atelier découverte sortie scolaire projet pédagogique programme
        scolaire numérique éducatif tablette classe ENT espace numérique travail
    """,
}
# Words of every field, the most frequent ranks (shuffled once, with the seed).
GENERIC = """
    projet outil lieu personne gens groupe équipe collectif communauté réseau service ressource
    accès usage utilisation gestion organisation fonctionnement activité action initiative
    démarche solution besoin question réponse idée exemple cas temps jour semaine mois année
    heure moment période durée début fin étape travail emploi métier compétence savoir
    connaissance expérience pratique méthode information données document fichier texte page
    site plateforme application public usager utilisateur habitant citoyen acteur partenaire
    structure entreprise collectivité mairie commune département région État institution
    administration territoire local national international européen francophone rural urbain
    simple facile rapide efficace pratique gratuit libre ouvert accessible partagé collaboratif
    participatif solidaire social écologique durable responsable nouveau ancien grand petit
    premier dernier long court important principal général particulier commun propre seul
    ensemble autre même différent nombreux plusieurs certain chaque tout possible nécessaire
    utile adapté complet mise place suivi accompagnement soutien appui conseil aide entraide
    coopération développement création production diffusion animation coordination animation
    qualité sécurité confiance transparence autonomie liberté égalité diversité mode version
    niveau type forme manière façon moyen objectif résultat impact coût prix tarif budget
    financement moyens ressources humaines matériel espace salle bureau local bâtiment maison
    terrain jardin cuisine atelier rencontre réunion échange discussion débat atelier formation
    conférence visite programme calendrier agenda planning événement manifestation fête festival
    contact adresse téléphone courriel lien inscription compte profil membre liste tableau carte
    plan schéma modèle guide fiche kit boîte outils transition changement évolution innovation
    expérimentation amélioration problème difficulté obstacle frein limite risque enjeu défi
    opportunité valeur principe règle cadre charte engagement contrat convention accord monde
    société vie quotidien famille enfant jeune adulte senior femme homme santé bien-être soin
    handicap accessibilité inclusion isolement précarité accord adhésion affaire âge agent aide
    air alternative ambiance ami analyse annonce année appel apport approche après-midi argent
    arrivée aspect atelier attente attention auteur avance avantage avenir avis axe base besoin
    bilan bout branche cadre calme campagne capacité caractère centre cercle chance chantier
    chemin choix chose ciel cible circuit clé client code cœur coin colère collection
    combinaison commande commencement commentaire compagnie comparaison complément comportement
    composition compréhension compte concept condition conférence confort connexion conséquence
    construction consultation contenu contexte continuité contribution contrôle conversation
    corps couleur coup courant cours création crise critère croissance cycle danger date débat
    décision définition degré demande départ dépense désir destination détail dialogue dimension
    direction discours disposition distance domaine don droit échelle économie écoute effet
    effort élément énergie enquête ensemble entrée environnement envie épreuve équilibre erreur
    esprit essai état étude évolution exercice exigence expérience expertise explication
    expression extérieur facteur famille faveur fenêtre figure fil fin finalité fonction fond
    force format fréquence frontière fruit futur gain genre geste goût grandeur habitude hasard
    histoire horizon hypothèse identité image impression indicateur individu influence instant
    intention intérêt intérieur invitation jeu joie langue langage lecture liberté lien ligne
    logique loi lumière machine main maison marché masse matière mémoire menace mesure milieu
    mission modalité moitié monde montant mot mouvement musique nature négociation nom nombre
    note notion objet obligation occasion œuvre offre ombre opinion option ordre origine outil
    ouverture paix papier parcours parole part partie passage passion patience pays paysage
    pensée perspective pièce piste place plaisir point politique population porte portée
    position pouvoir pratique préparation présence pression preuve priorité processus production
    profit progrès promesse propos proposition protection quantité quartier rapport raison rang
    réalité recherche récit réflexion région regard relation rencontre repère réseau respect
    responsabilité reste retour réussite rêve richesse rôle route rythme saison salle savoir
    scène secteur sens sentiment série signe silence situation solution sortie souci souvenir
    stratégie style succès suite sujet support surface système table taille tâche talent
    technique tendance terme terrain test thème titre ton tour tradition trajet transformation
    travail trace univers urgence valeur variété veille vie vision voie voix volonté volume vue
    actif active agréable ambitieux annuel ancien artistique associatif attentif autonome
    bénévole beau belle bon bonne calme central citoyen clair collectif concret convivial
    coopératif créatif critique culturel curieux dynamique économique éducatif efficace égal
    électrique énergétique entier essentiel éthique européen évident exceptionnel expérimental
    extérieur familial fiable financier fort fragile gratuit habituel hebdomadaire humain idéal
    indépendant individuel informatique innovant intense intéressant interne juste léger lent
    local lourd majeur mensuel minimal mobile moderne modeste mutuel naturel nécessaire neuf
    normal nouveau numérique ouvert paisible personnel physique populaire positif pratique
    précis premier privé professionnel public quotidien rapide rare réel régional régulier riche
    rural sain scientifique sécurisé sensible sérieux social solide souple spécifique stable sûr
    technique temporaire traditionnel tranquille unique urbain utile varié vert virtuel visible
    vivant
"""
# Verbs, one per sentence: never put in the plural.
VERBS = """
    permettre proposer gérer organiser partager créer développer animer documenter travailler
    accueillir accompagner former apprendre comprendre découvrir trouver chercher utiliser
    installer configurer publier diffuser suivre mesurer évaluer construire fabriquer réparer
    réutiliser recycler concevoir imaginer tester améliorer adapter faciliter simplifier
    automatiser connecter relier rassembler réunir rencontrer échanger discuter décider voter
    choisir proposer contribuer participer rejoindre inscrire réserver louer payer facturer
    financer soutenir aider conseiller orienter informer communiquer présenter raconter
    expliquer montrer transmettre enseigner écrire lire traduire enregistrer filmer monter
    coudre souder découper imprimer graver assembler planter cultiver cuisiner offre propose
    permet facilite accompagne rassemble relie aide simplifie accepter accomplir acheter agir
    ajouter aller annoncer apporter appeler arriver attendre avancer bâtir calculer changer
    commencer comparer compléter compter conduire confier connaître considérer continuer
    convaincre corriger courir coûter croire croiser définir demander démarrer dépasser déplacer
    dessiner devenir diriger donner durer écouter élaborer embaucher employer encourager engager
    enrichir entendre entretenir envisager envoyer essayer établir étendre éviter examiner
    exister expérimenter exprimer favoriser fixer fonder fournir garantir garder générer grandir
    identifier impliquer imposer inclure indiquer inventer inviter lancer libérer limiter
    maintenir manquer marquer mener mesurer mettre modifier monter mobiliser nourrir obtenir
    occuper offrir ouvrir parler passer penser perdre planifier porter poser posséder pratiquer
    prendre préparer préserver prévoir produire progresser protéger prouver quitter recevoir
    reconnaître recruter réduire réfléchir regarder regrouper remplacer remplir rendre renforcer
    répondre représenter résoudre respecter rester réussir réveiller sauvegarder sentir servir
    signer sortir souhaiter structurer suggérer supporter tenir tirer toucher transformer
    traverser valoriser vendre venir vérifier visiter vivre
"""

_CONNECTORS = (
    "de de de la la le les les et et des des pour avec dans du en sur à aux un une par "
    "entre autour pour qui"
)
CONNECTORS = _CONNECTORS.split()
_SYLLABLES = (
    "ca to li ber fa bri co mu na ra vé lo ki mo pa hé ko za tu do ni ré so lu ga mi xo pi "
    "ta ve zo bu fi no ri sa ju ké gra fra plu tri"
)
SYLLABLES = _SYLLABLES.split()
BRAND_ENDS = ["", "", "", "lab", "hub", "box", "kit", "doc", "map", "cloud", "o", "ia"]
LICENSES = [
    "AGPL-3.0-or-later",
    "GPL-3.0-or-later",
    "MIT",
    "MPL-2.0",
    "CC-BY-SA-4.0",
    "CC-BY-4.0",
    "ODbL-1.0",
    "CERN-OHL-S-2.0",
    "Prix libre",
]
COSTS = [
    "Gratuit",
    "Gratuit ; hébergement payant chez des CHATONS dès quelques euros par mois",
    "Prix libre",
    "Adhésion à l'association",
    "Quelques centaines d'euros",
    "Sur devis",
]
KIND_WEIGHTS = {
    "logiciel": 30,
    "methode": 15,
    "modele": 10,
    "communaute": 12,
    "service": 13,
    "materiel": 10,
    "formation": 10,
}
ACTION_WEIGHTS = {"gerer": 30, "developper": 15, "travailler": 25, "animer": 20, "documenter": 10}


def _plural(word: str) -> str:
    if word[0].isupper() or "-" in word or "'" in word or word.endswith(("s", "x", "z")):
        return word
    if word.endswith("al"):
        return word[:-2] + "aux"
    if word.endswith(("eau", "eu")):
        return word + "x"
    return word + "s"


def _zipf(n: int) -> list[float]:
    """Cumulative Zipf–Mandelbrot weights of ranks 1..n."""
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / (rank + ZIPF_Q) ** ZIPF_S
        out.append(total)
    return out


class Vocabulary:
    """Words to draw from: the whole list by rank, and each theme's own."""

    def __init__(self, rng: random.Random) -> None:
        generic = list(dict.fromkeys(GENERIC.split()))
        rng.shuffle(generic)
        themed: list[str] = []
        self.themes: dict[str, list[str]] = {}
        for theme, text in THEMES.items():
            words = list(dict.fromkeys(text.split()))
            self.themes[theme] = words
            themed.extend(w for w in words if w not in generic)
        themed = list(dict.fromkeys(themed))
        rng.shuffle(themed)
        # Generic words first (the most frequent ranks), then every theme's words, mixed.
        self.ranked = generic + themed
        self.ranked_cum = _zipf(len(self.ranked))
        self.theme_cum = {t: _zipf(len(w)) for t, w in self.themes.items()}
        self.verbs = list(dict.fromkeys(VERBS.split()))
        self.plurals = {w: _plural(w) for w in self.ranked}
        self.plurals.update({w: _plural(w) for ws in self.themes.values() for w in ws})

    def size(self) -> int:
        return len(set(self.ranked) | set(self.verbs))

    def draw(self, rng: random.Random, theme: str, k: int, theme_share: float) -> list[str]:
        own = sum(1 for _ in range(k) if rng.random() < theme_share)
        words = rng.choices(self.themes[theme], cum_weights=self.theme_cum[theme], k=own)
        words += rng.choices(self.ranked, cum_weights=self.ranked_cum, k=k - own)
        rng.shuffle(words)
        return [self.plurals[w] if rng.random() < 0.2 else w for w in words]

    def sentence(self, rng: random.Random, theme: str, length: int) -> list[str]:
        """About `length` words: content words, a verb, connectors between some."""
        content = self.draw(rng, theme, max(2, length * 3 // 5), 0.35)
        out: list[str] = []
        for i, w in enumerate(content):
            if i == 1:
                out.append(rng.choice(self.verbs))
            out.append(w)
            if rng.random() < 0.6:
                out.append(rng.choice(CONNECTORS))
        if out[-1] in CONNECTORS:
            out.pop()
        return out

    def text(self, rng: random.Random, theme: str, n_words: int) -> str:
        sentences, count = [], 0
        while count < n_words:
            words = self.sentence(rng, theme, rng.randint(8, 22))
            words = words[: n_words - count] if count + len(words) > n_words else words
            count += len(words)
            s = " ".join(words)
            sentences.append(s[0].upper() + s[1:] + ".")
        paragraphs, step = [], rng.randint(2, 4)
        for i in range(0, len(sentences), step):
            paragraphs.append(" ".join(sentences[i : i + step]))
        return "\n\n".join(paragraphs)


def _brand(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return (word + rng.choice(BRAND_ENDS)).capitalize()


def _name(rng: random.Random, vocab: Vocabulary, theme: str, kind: str) -> str:
    a, b = vocab.draw(rng, theme, 2, 0.8)
    cap = a[0].upper() + a[1:]
    if kind in ("logiciel", "service") or rng.random() < 0.12:
        brand = _brand(rng)
        return rng.choice([brand, f"{brand} {a}", f"{brand} — {a} {b}"])
    templates = {
        "methode": [f"Méthode {a} {b}", f"Guide du {a}", f"{cap} participatif", f"Démarche {a}"],
        "modele": [f"Modèle de {a} pour {b}", f"Kit {a}", f"Gabarit {a} {b}"],
        "communaute": [f"Réseau {a}", f"Collectif {a} {b}", f"Communauté {a}"],
        "materiel": [f"{cap} partagé", f"{cap} et {b}", f"Parc de {a}"],
        "formation": [f"Formation {a} {b}", f"Parcours {a}", f"Initiation {a}"],
    }
    return rng.choice(templates[kind])


def _grid(rng: random.Random, kind: str) -> dict[str, Any]:
    grid: dict[str, Any] = {
        "adoption_time": rng.choice(["heures", "jours", "semaines", "mois"]),
        "complexity": rng.randint(1, 5),
        "cost": rng.choice(COSTS),
        "funding": rng.choice(["benevole", "dons", "subventions", "commercial", "mixte"]),
        "dynamics": rng.choices(["emergent", "croissance", "stable", "declin"], [2, 3, 4, 1])[0],
    }
    if rng.random() < 0.7:
        grid["last_activity"] = f"{rng.randint(2015, 2026)}-{rng.randint(1, 12):02d}"
    if rng.random() < 0.5:
        grid["active_contributors"] = rng.choice([1, 2, 3, 5, 8, 12, 30, 100, 400])
    if kind == "logiciel":
        grid["hosting"] = rng.choice(["en_ligne", "auto_heberge", "les_deux"])
    if kind == "formation":
        grid["duration"] = rng.choice(["une demi-journée", "deux jours", "dix séances"])
    return grid


# --- Django steps, run in a subprocess ------------------------------------------------------------


def step_generate() -> dict[str, Any]:
    django_setup()
    from django.db import connection, transaction
    from django.utils.text import slugify

    from conciergerie.commons import search
    from conciergerie.commons.models import Commons, Domain, SearchTerm
    from conciergerie.core import services as core
    from conciergerie.core.text import stem

    # Only here: the same stems, remembered (Snowball costs ~60 µs a word; 100,000
    # descriptions hold ~13 million words of a few thousand kinds). The measure step
    # runs the code unchanged.
    search.stem = functools.lru_cache(maxsize=None)(stem)  # type: ignore[attr-defined]
    size = int(os.environ.get("BENCH_COMMONS_SIZE", SIZE))
    rng = random.Random(SEED)
    vocab = Vocabulary(rng)
    started = time.perf_counter()
    place = core.place_create(by=None, slug=SLUG, name="Banc d'essai, communs")
    domains = {
        theme: Domain.objects.create(place=place, name=theme, slug=slugify(theme))
        for theme in THEMES
    }
    themes = list(THEMES)
    kinds, kind_w = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    actions, action_w = list(ACTION_WEIGHTS), list(ACTION_WEIGHTS.values())
    build = write = 0.0
    Through = Commons.domains.through
    for first in range(0, size, BATCH):
        t0 = time.perf_counter()
        batch, batch_domains = [], []
        for i in range(first, min(size, first + BATCH)):
            theme = rng.choice(themes)
            kind = rng.choices(kinds, kind_w)[0]
            name = _name(rng, vocab, theme, kind)[:120]
            slug = f"{slugify(name)[:100]}-{i}"
            others = rng.sample(themes, rng.choice([0, 0, 1, 1, 2]))
            own_domains = list(dict.fromkeys([theme, *others]))
            chosen = set(rng.choices(actions, action_w, k=rng.choice([1, 1, 2, 2, 3])))
            summary = vocab.text(rng, theme, rng.randint(10, 28)).replace("\n\n", " ")
            commons = Commons(
                place=place,
                slug=slug,
                name=name,
                summary=summary[:300],
                description=vocab.text(rng, theme, rng.randint(60, 200)),
                url=f"https://{slug}.example.org",
                kind=kind,
                actions="," + ",".join(a for a in actions if a in chosen) + ",",
                tags=list(dict.fromkeys(vocab.draw(rng, theme, rng.randint(2, 6), 0.85))),
                license=rng.choice(LICENSES),
                grid=_grid(rng, kind),
                status=Commons.Status.VALIDATED,
            )
            search.index_fields(commons, own_domains)
            batch.append(commons)
            batch_domains.append(own_domains)
        t1 = time.perf_counter()
        with transaction.atomic():
            created = Commons.objects.bulk_create(batch, batch_size=BATCH)
            Through.objects.bulk_create(
                [
                    Through(commons_id=c.pk, domain_id=domains[d].pk)
                    for c, names in zip(created, batch_domains, strict=True)
                    for d in names
                ],
                batch_size=BATCH * 3,
            )
            search.vocabulary_add(
                place=place,
                texts=[t for c in created for t in (c.name, c.summary, c.keywords)],
            )
        t2 = time.perf_counter()
        build += t1 - t0
        write += t2 - t1
        if (first // BATCH) % 10 == 0:
            print(f"  {first + len(batch)} communs…", file=sys.stderr)
    t_analyze = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    analyze = time.perf_counter() - t_analyze
    total = time.perf_counter() - started
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
        else:
            cursor.execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        db_bytes = int(cursor.fetchone()[0])
    return {
        "commons": Commons.objects.filter(place=place).count(),
        "terms": SearchTerm.objects.filter(place=place).count(),
        "vocabulary": vocab.size(),
        "build_s": round(build, 1),
        "write_s": round(write, 1),
        "analyze_s": round(analyze, 1),
        "total_s": round(total, 1),
        "db_mb": round(db_bytes / 1e6),
    }


# Searches as people type them: (label, q, kind, action). `None` for q: the exact name of a
# commons of the generated catalogue, chosen at measure time.
QUERIES: list[tuple[str, str | None, str, str]] = [
    ("courant", "projet", "", ""),
    ("courant", "association", "", ""),
    ("courant", "outil", "", ""),
    ("courant", "gestion", "", ""),
    ("courant", "atelier", "", ""),
    ("courant", "formation", "", ""),
    ("courant", "libre", "", ""),
    ("courant", "numérique", "", ""),
    ("courant", "partagé", "", ""),
    ("plusieurs mots", "gestion association", "", ""),
    ("plusieurs mots", "outil libre", "", ""),
    ("plusieurs mots", "atelier partagé", "", ""),
    ("plusieurs mots", "projet collectif territoire", "", ""),
    ("plusieurs mots", "réseau local", "", ""),
    ("rare", "sérigraphie", "", ""),
    ("rare", "vitrail", "", ""),
    ("rare", "ornithologie", "", ""),
    ("rare", "yourte", "", ""),
    ("rare", "glanage", "", ""),
    ("rare", "prud'hommes", "", ""),
    ("rare", "thermoformage", "", ""),
    ("rare", "kakémono", "", ""),
    ("rare", "Nextcloud", "", ""),
    ("pluriel", "imprimantes", "", ""),
    ("pluriel", "adhésions", "", ""),
    ("pluriel", "cotisations bénévoles", "", ""),
    ("pluriel", "ressourceries", "", ""),
    ("pluriel", "vélos cargos", "", ""),
    ("pluriel", "jardins partagés", "", ""),
    ("pluriel", "locaux", "", ""),
    ("sans accents", "comptabilite", "", ""),
    ("sans accents", "electronique", "", ""),
    ("sans accents", "reemploi", "", ""),
    ("sans accents", "benevolat", "", ""),
    ("sans accents", "reseau", "", ""),
    ("sans accents", "decoupeuse laser", "", ""),
    ("sans accents", "theatre", "", ""),
    ("sans accents", "energie renouvelable", "", ""),
    ("sans accents", "medecin generaliste", "", ""),
    ("faute de frappe", "comptabilté", "", ""),
    ("faute de frappe", "cartograhie", "", ""),
    ("faute de frappe", "menuiserei", "", ""),
    ("faute de frappe", "visioconférance", "", ""),
    ("faute de frappe", "permaculure", "", ""),
    ("faute de frappe", "subvension", "", ""),
    ("faute de frappe", "sociocratei", "", ""),
    ("faute de frappe", "falbab", "", ""),
    ("faute de frappe", "imprimente 3d", "", ""),
    ("phrase", "gérer les adhésions et la compta", "", ""),
    ("phrase", "réservation de salles", "", ""),
    ("phrase", "logiciel de comptabilité associative", "", ""),
    ("phrase", "réunion à distance", "", ""),
    ("phrase", "découpe laser bois", "", ""),
    ("phrase", "repair café", "", ""),
    ("phrase", "monnaie locale", "", ""),
    ("phrase", "habitat participatif", "", ""),
    ("phrase", "sondage date", "", ""),
    ("phrase", "partage de fichiers chiffrement", "", ""),
    ("filtre", "gestion", "logiciel", ""),
    ("filtre", "atelier", "", "animer"),
    ("filtre", "formation", "formation", "documenter"),
    ("filtre", "réparation vélo", "communaute", ""),
    ("filtre", "outil", "", "gerer"),
    ("filtre", "cartographie", "service", ""),
    ("introuvable", "xylophage quantique", "", ""),
    ("nom exact", None, "", ""),
]

NEEDS: list[tuple[str, dict[str, str]]] = [
    ("on veut gérer les adhésions et la compta de notre asso", {}),
    ("un outil pour faire des visios avec les bénévoles", {"action": "travailler"}),
    ("organiser un atelier de réparation de vélos dans notre tiers-lieu", {}),
    ("cartographier les acteurs de l'économie sociale du territoire", {"budget": "aucun"}),
    ("une imprimante 3d et une découpeuse laser pour prototyper", {"skills": "aucune"}),
    ("monter un jardin partagé avec du compost dans le quartier", {}),
    ("documenter nos recettes et notre code social en ligne", {"action": "documenter"}),
    ("réserver les salles et facturer les coworkers", {"urgency": "urgent"}),
    ("prendre des décisions collectives sans réunions interminables", {}),
    ("trouver des financements pour rénover le bâtiment", {}),
    ("former les habitants au numérique", {"action": "animer"}),
]


def _label(q: str, kind: str, action: str) -> str:
    extra = [f"type={kind}" for _ in [0] if kind] + [f"action={action}" for _ in [0] if action]
    return f"« {q} »" + (f" ({', '.join(extra)})" if extra else "")


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": statistics.median(values),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values),
    }


def step_measure() -> dict[str, Any]:
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conciergerie.commons import search
    from conciergerie.commons.models import Commons
    from conciergerie.commons.selectors import aiguillage, catalogue
    from conciergerie.core.models import Place

    rounds = int(os.environ.get("BENCH_COMMONS_ROUNDS", 5))
    rng = random.Random(SEED + 1)
    place = Place.objects.get(slug=SLUG)
    pks = list(Commons.objects.filter(place=place).values_list("pk", flat=True))
    slugs = list(
        Commons.objects.filter(pk__in=rng.sample(pks, min(500, len(pks)))).values_list(
            "slug", flat=True
        )
    )
    exact = Commons.objects.filter(place=place).order_by("pk")[len(pks) // 3]
    queries = [(lab, q if q is not None else exact.name, k, a) for lab, q, k, a in QUERIES]
    n_baseline = iter(range(10**9))

    def baseline() -> float:
        slug = slugs[next(n_baseline) % len(slugs)]
        t0 = time.perf_counter()
        found = Commons.objects.filter(place=place, slug=slug).first()
        elapsed = time.perf_counter() - t0
        assert found is not None
        return elapsed * 1000

    def one(i: int) -> tuple[float, int]:
        _lab, q, kind, action = queries[i]
        t0 = time.perf_counter()
        results = catalogue.commons_search(place=place, q=q, kind=kind, action=action)
        return (time.perf_counter() - t0) * 1000, len(results.commons)

    per_query: dict[int, list[float]] = {i: [] for i in range(len(queries))}
    hits: dict[int, int] = {}
    base: list[float] = []
    order = list(range(len(queries)))
    for r in range(rounds + 1):  # round 0: warm-up, not kept
        rng.shuffle(order)
        for i in order:
            b = baseline()
            ms, n = one(i)
            if r:
                base.append(b)
                per_query[i].append(ms)
            hits[i] = n
    all_ms = [ms for values in per_query.values() for ms in values]

    def need_call(j: int) -> float:
        need, answers = NEEDS[j]
        t0 = time.perf_counter()
        aiguillage.suggest(place=place, need=need, answers=answers)
        return (time.perf_counter() - t0) * 1000

    needs_ms: list[float] = []
    needs_order = list(range(len(NEEDS)))
    for r in range(rounds + 1):
        rng.shuffle(needs_order)
        for j in needs_order:
            ms = need_call(j)
            if r:
                needs_ms.append(ms)

    # Split: where each search's time goes (typo correction, ranking, the rest = ORM fetch).
    spent: dict[str, float] = {}
    calls: list[dict[str, Any]] = []
    real_corrected, real_ranked = search.corrected, search.ranked_ids

    def timed_corrected(**kw: Any) -> dict[str, str]:
        t0 = time.perf_counter()
        try:
            return real_corrected(**kw)
        finally:
            spent["corrected"] += (time.perf_counter() - t0) * 1000

    def timed_ranked(**kw: Any) -> list[tuple[int, float]]:
        t0 = time.perf_counter()
        try:
            return real_ranked(**kw)
        finally:
            spent["ranked"] += (time.perf_counter() - t0) * 1000
            calls.append({"any_word": kw.get("any_word", False)})

    search.corrected, search.ranked_ids = timed_corrected, timed_ranked  # type: ignore[assignment]
    split = {}
    try:
        for i, (_lab, q, kind, action) in enumerate(queries):
            parts = []
            for _ in range(3):
                spent.update(corrected=0.0, ranked=0.0)
                calls.clear()
                t0 = time.perf_counter()
                with CaptureQueriesContext(connection) as captured:
                    results = catalogue.commons_search(place=place, q=q, kind=kind, action=action)
                total = (time.perf_counter() - t0) * 1000
                parts.append(
                    {
                        "total": total,
                        "corrected": spent["corrected"],
                        "ranked": spent["ranked"],
                        "rest": total - spent["corrected"] - spent["ranked"],
                    }
                )
            split[i] = {k: statistics.median(p[k] for p in parts) for k in parts[0]}
            split[i]["fallback"] = any(c["any_word"] for c in calls)
            split[i]["statements"] = len(captured.captured_queries)
            split[i]["fixes"] = [list(f) for f in results.fixes]
            split[i]["words"] = list(results.query.words) if results.query else []
    finally:
        search.corrected, search.ranked_ids = real_corrected, real_ranked  # type: ignore[assignment]

    p50s = {i: statistics.median(v) for i, v in per_query.items()}
    slowest = sorted(p50s, key=lambda i: -p50s[i])[:5]
    details = {}
    for i in slowest:
        _lab, q, kind, action = queries[i]
        query = search.parse(place=place, text=q)
        everything = search.ranked_ids(place=place, query=query, limit=10**7)
        any_word = search.ranked_ids(place=place, query=query, any_word=True, limit=10**7)
        details[i] = {
            "matches_all": len(everything),
            "matches_any": len(any_word),
            "plan": _explain(connection, place, query, bool(everything)),
        }
    return {
        "queries": [
            {
                "label": lab,
                "q": q,
                "kind": kind,
                "action": action,
                "p50": p50s[i],
                "max": max(per_query[i]),
                "hits": hits[i],
                "split": split[i],
                "detail": details.get(i),
            }
            for i, (lab, q, kind, action) in enumerate(queries)
        ],
        "slowest": slowest,
        "search": _stats(all_ms),
        "baseline": _stats(base),
        "needs": _stats(needs_ms),
        "rounds": rounds,
        "vendor": connection.vendor,
    }


def _explain(connection: Any, place: Any, query: Any, all_words: bool) -> list[str]:
    """The engine's plan for the ranking statement `search.ranked_ids` sends."""
    from django.test.utils import CaptureQueriesContext

    from conciergerie.commons import search

    with CaptureQueriesContext(connection) as captured:
        search.ranked_ids(place=place, query=query, any_word=not all_words, limit=500)
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        rows = cursor.fetchall()
    return [str(row[0]) if len(row) == 1 else str(row[-1]) for row in rows]


STEPS = {"_generate": step_generate, "_measure": step_measure}


# --- Databases -----------------------------------------------------------------------------------


def pg_reset() -> str | None:
    """`conciergerie_bench_commons`, dropped and created again: its URL, None if unreachable."""
    try:
        import psycopg

        with psycopg.connect(pg_server(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - reported, the SQLite part still runs
        print(f"PostgreSQL indisponible : {exc}", file=sys.stderr)
        return None
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(pg_server())._replace(path=f"/{PG_NAME}"))


def measure(engine: str, args: argparse.Namespace, deadline: Deadline) -> dict[str, Any]:
    import subprocess

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    data_dir = OUT / f"{stamp}-commons-{engine}"
    data_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("CONCIERGERIE_DATABASE_URL", None)
    env.update(
        CONCIERGERIE_DATA_DIR=str(data_dir),
        CONCIERGERIE_DEBUG="0",
        BENCH_COMMONS_SIZE=str(args.size),
        BENCH_COMMONS_ROUNDS=str(args.rounds),
    )
    try:
        if engine == "postgresql":
            url = pg_reset()
            if url is None:
                return {"engine": engine, "skipped": True}
            env["CONCIERGERIE_DATABASE_URL"] = url
        print(f"[{engine}] migrations dans {data_dir.relative_to(ROOT)} …", file=sys.stderr)
        subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "conciergerie.cli", "migrate", "-v0"],
            env=env,
            check=True,
            timeout=max(10.0, deadline.end - time.monotonic()),
        )
        print(f"[{engine}] {args.size} communs …", file=sys.stderr)
        generated = run_step(__file__, "_generate", env, deadline)
        print(f"[{engine}] recherches, {args.rounds} manches …", file=sys.stderr)
        measured = run_step(__file__, "_measure", env, deadline)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return {"engine": engine, "skipped": False, "generated": generated, **measured}


# --- Report --------------------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f")


ENGINE_NAMES = {"sqlite": "SQLite (FTS5)", "postgresql": "PostgreSQL 15"}


def report(
    results: list[dict[str, Any]], info: dict[str, str], args: argparse.Namespace, elapsed: float
) -> str:
    done = [r for r in results if not r["skipped"]]
    vocabulary = done[0]["generated"]["vocabulary"] if done else 0
    lines = [
        f"## {SECTION}",
        "",
        f"Écrit par `bench/commons.py` le {dt.datetime.now():%Y-%m-%d %H:%M}, en {elapsed:.0f} s. "
        f"Machine : {info['nproc']} processeurs ({info['cpu'] or 'modèle inconnu'}), "
        f"{info['system']}, charge au départ {info['load']}, à la fin "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ; Python {info['python']}, "
        f"Django {info['django']}, SQLite {info['sqlite']}. **Machine partagée** : les tests "
        "d'autres sessions tournaient en même temps (mêmes 2 cœurs, même serveur PostgreSQL) ; "
        "comparer les ratios à la référence plutôt que les millisecondes.",
        "",
        f"Méthode : par base, une base neuve (SQLite : un dossier de données neuf ; PostgreSQL : "
        f"`{PG_NAME}` supprimée puis recréée), migrée, un lieu et {_n(args.size)} communs "
        "générés (noms — un tiers avec une marque inventée —, résumés, descriptions de 60 à "
        f"200 mots et mots-clés tirés d'un vocabulaire français de {_n(vocabulary)} mots "
        "— tiers-lieux, associations, logiciel, fabrication, culture… et mots courants — "
        "selon une loi de Zipf : quelques mots dans la plupart des communs, la plupart rares ; "
        "types, actions, domaines et grille répartis ; tous validés), écrits en masse comme les "
        "services les indexent (`search.index_fields`, `bulk_create` par 2 000, vocabulaire "
        "des fautes de frappe par `search.vocabulary_add`), puis ANALYZE (PostgreSQL : VACUUM "
        f"ANALYZE). Puis, dans un nouveau processus, {len(QUERIES)} recherches fixes de 1 à 4 "
        "mots (mots courants et rares, sans accents, pluriels, fautes de frappe, filtres type "
        "ou action, un nom exact) par `selectors.catalogue.commons_search`, le sélecteur de la "
        f"page, 1 manche de chauffe puis {args.rounds} manches dans un ordre mélangé ; temps "
        "de chaque appel en processus (sans HTTP ni gabarit). **Référence**, entrelacée dans "
        "les mêmes manches : `Commons.objects.filter(place=…, slug=…).first()` (une ligne par "
        "index). **Ratio** = p95 des recherches / p50 de la référence. Aiguillage : "
        f"`selectors.aiguillage.suggest` sur {len(NEEDS)} besoins rédigés comme les gens les "
        "écrivent, mêmes manches (sans objectif chiffré).",
        "",
        "| base | communs | génération (s) | recherches | p50 (ms) | p95 (ms) | p99 (ms) "
        "| max (ms) | référence p50 (ms) | p95 / référence | aiguillage p50 / p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        name = ENGINE_NAMES[r["engine"]]
        if r["skipped"]:
            lines.append(f"| {name} | serveur injoignable : non mesuré | | | | | | | | | |")
            continue
        g, s, b, n = r["generated"], r["search"], r["baseline"], r["needs"]
        lines.append(
            f"| {name} | {_n(g['commons'])} | {g['total_s']:.0f} | {s['n']} | {s['p50']:.1f} | "
            f"{s['p95']:.1f} | {s['p99']:.1f} | {s['max']:.1f} | {b['p50']:.2f} | "
            f"{s['p95'] / b['p50']:.0f} | {n['p50']:.0f} / {n['p95']:.0f} |"
        )
    lines.append("")
    for r in done:
        g = r["generated"]
        lines += [
            f"Génération, {ENGINE_NAMES[r['engine']]} : {g['build_s']:.0f} s pour composer les "
            f"textes et les indexer en Python, {g['write_s']:.0f} s d'écriture (communs, "
            f"domaines, vocabulaire), {g['analyze_s']:.0f} s d'ANALYZE ; "
            f"{_n(g['terms'])} mots dans le vocabulaire des fautes de frappe ; base de "
            f"{_n(g['db_mb'])} Mo.",
            "",
        ]
    for r in done:
        lines += [
            f"### {ENGINE_NAMES[r['engine']]} : les 5 recherches les plus lentes",
            "",
            "| recherche | genre | p50 (ms) | max (ms) | résultats | communs ayant tous "
            "les mots | correction (ms) | classement (ms) | reste, chargement ORM (ms) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for i in r["slowest"]:
            q = r["queries"][i]
            sp, d = q["split"], q["detail"]
            fixes = ", ".join(f"{a} → {b}" for a, b in sp["fixes"])
            lines.append(
                f"| {_label(q['q'], q['kind'], q['action'])}"
                + (f" [{fixes}]" if fixes else "")
                + f" | {q['label']} | {q['p50']:.1f} | {q['max']:.1f} | {q['hits']} | "
                f"{_n(d['matches_all'])}"
                + (" (puis un des mots : " + _n(d["matches_any"]) + ")" if sp["fallback"] else "")
                + f" | {sp['corrected']:.1f} | {sp['ranked']:.1f} | {sp['rest']:.1f} |"
            )
        lines.append("")
        by_label: dict[str, list[float]] = {}
        for q in r["queries"]:
            by_label.setdefault(q["label"], []).append(q["p50"])
        parts = {
            k: sum(q["split"][k] for q in r["queries"]) for k in ("corrected", "ranked", "rest")
        }
        whole = sum(parts.values()) or 1.0
        lines += [
            f"Où va le temps (somme sur les {len(r['queries'])} recherches, médiane de 3 appels "
            f"chacune) : classement `search.ranked_ids` {parts['ranked'] / whole * 100:.0f} %, "
            f"correction des fautes `search.corrected` {parts['corrected'] / whole * 100:.0f} %, "
            f"le reste (mots, chargement des communs par l'ORM) {parts['rest'] / whole * 100:.0f} %.",
            "",
            "Médiane des p50 par genre de recherche (ms) : "
            + " ; ".join(f"{k} {statistics.median(v):.1f}" for k, v in by_label.items())
            + ".",
            "",
        ]
    goals = []
    for r in done:
        p95 = r["search"]["p95"]
        goals.append(
            f"- {ENGINE_NAMES[r['engine']]}, p95 ≤ {GOAL_MS:.0f} ms sur {_n(r['generated']['commons'])} "
            f"communs : {p95:.1f} ms — "
            + ("**atteint**." if p95 <= GOAL_MS else "**non atteint**.")
        )
    lines += objectives(
        goals,
        f"python bench/commons.py --size {args.size} --engines {','.join(args.engines)} "
        f"--rounds {args.rounds} --write",
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in STEPS:
        print(json.dumps(STEPS[argv[0]](), default=str))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", type=int, default=SIZE, help="communs générés")
    parser.add_argument("--engines", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5, help="manches mesurées")
    parser.add_argument("--timeout", type=float, default=5400, help="secondes, en tout")
    parser.add_argument("--keep", action="store_true", help="garder le dossier SQLite")
    parser.add_argument("--json", type=Path, help="écrire aussi les mesures brutes ici")
    parser.add_argument("--write", action="store_true", help="ajouter la section à RESULTS.md")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINE_NAMES)
    if unknown:
        parser.error(f"moteur inconnu : {', '.join(sorted(unknown))}")
    deadline = Deadline(args.timeout)
    started = time.monotonic()
    info = machine()
    results = [measure(engine, args, deadline) for engine in args.engines]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    text = report(results, info, args, time.monotonic() - started)
    print(text)
    for r in results:
        for i in r.get("slowest", []):
            q = r["queries"][i]
            print(
                f"\n[{r['engine']}] plan de {_label(q['q'], q['kind'], q['action'])} :",
                file=sys.stderr,
            )
            for line in q["detail"]["plan"]:
                print("   ", line, file=sys.stderr)
    if args.write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
