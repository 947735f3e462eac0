// Star Reader's own word lists, standing in for the wonderwords lists RULER draws from: needle keys
// are "adjective-noun" pairs (RULER's "words" keys), and common words extraction draws from every
// word. Lower-case English words of letters only.

const words = (text: string): readonly string[] => [...new Set(text.trim().split(/\s+/))];

export const NOUNS = words(`
  abbey acorn actor adventure advice agency airport alarm album alley almond amber anchor angle ankle
  answer antelope anthem apartment apple apricot apron aquarium arch archive arena argument armchair
  army arrow artist ash attic auction aunt author avenue avocado award axe baby backpack badge badger
  bakery balcony ballad balloon bamboo banana band bandage bank banner barn barrel basket bat bath
  battery bay beach beacon bead beak beam bean bear beard beaver bed bee beetle bell belt bench berry
  bicycle bill biscuit bishop blanket blossom blueprint boat bonnet book boot border bottle boulder bowl
  box bracelet branch brass bread breeze brick bride bridge brook broom brother bubble bucket budget
  buffalo bugle building bulb bundle bungalow bureau butter butterfly button cabin cabinet cable cactus
  cafe cage cake calendar camel camera camp canal candle cannon canoe canvas canyon cape captain
  caravan card cargo carpet carriage carrot cart castle cat cathedral cattle cave cedar cellar cello
  chain chair chalk champion channel chapel chapter charcoal chart cheese chef cherry chess chest
  chicken chimney chisel chocolate choir church cinema circle circus citizen city clam classroom clay
  cliff climate clock cloud clover coach coast coat cobweb coconut coffee coin collar colony comb comet
  compass concert cookie copper coral cord cork corner corridor costume cottage cotton couch council
  county courage court cousin cow crab cradle crane crater crayon cream creek crew cricket crocodile
  crown crystal cucumber cup cupboard curtain cushion customer cycle daisy dam dancer daughter dawn
  deck deer delta desert desk diamond diary dictionary dinosaur diver doctor dog doll dolphin dome
  donkey door dove dragon drawer dream dress drum duck dune dust eagle earth easel echo eel egg elbow
  elephant elm ember emerald engine envelope estate evening falcon fan farm farmer feather fence fern
  ferry festival fiddle field fig finch fire fireplace fish flag flame flamingo flask fleet flint flute
  fog folder forest fork fortress fossil fountain fox frame friend frog frost fruit furnace galaxy
  gallery garage garden garlic gate gazelle gem geyser ghost giant ginger giraffe glacier glass glove
  goat gold goose gorilla gown grain granite grape grass grasshopper gravel guitar gull hammer hammock
  hamster harbor harp harvest hat hawk hazel hedge hedgehog helmet hen herb heron hill hippo hive
  honey hood hook horizon horn horse hospital hotel hound hut ice iceberg igloo inch ink insect island
  ivory ivy jacket jaguar jam jar jasmine jelly jewel journal journey judge jug juice jungle kangaroo
  kettle key kingdom kitchen kite kitten knee knife knot koala label ladder ladle lagoon lake lamb lamp
  lantern lark lawn leaf lemon leopard letter lettuce library lighthouse lily lime lion lizard llama
  lobster locket lodge log loom lotus lute magnet magpie mailbox mango mansion map maple marble market
  mask meadow medal melon mermaid meteor mill mirror mitten moat monastery monkey moon moose mosaic
  moss moth motor mountain mouse mug museum mushroom music nail napkin necklace needle nest net nickel
  night notebook nurse nut oak oar oasis ocean octopus office olive onion orange orchard orchestra
  orchid ostrich otter oven owl oyster paddle page pagoda paint palace palm pancake panda panther paper
  parade parcel park parrot passport pasta path pearl pebble pelican pen pencil penguin pepper piano
  pickle picnic pier pig pigeon pillow pilot pine pineapple pipe pirate pitcher planet plank plate
  plaza plum pocket poem poet pond poppy porch portrait post pot potato pottery prairie prince princess
  puddle pumpkin puppet puppy quail quarry queen quill quilt rabbit raccoon radio raft rail rain
  rainbow raisin rake ranch raven recipe reef reindeer ribbon rice riddle ring river road robin robot
  rock rocket roof room rooster root rope rose ruby rug ruler saddle sail sailor salad salmon sand
  sandal satchel saucer saxophone scarf school scissors scroll sculpture sea seal season seed shadow
  shark sheep shelf shell shelter shield ship shoe shop shovel shrub signal silk silver singer sister
  skate sketch skirt sky sled sleeve slipper snail snake snow soap sock sofa soldier song soup sparrow
  spider spinach sponge spoon spring squash squid squirrel stable stadium stair star station statue
  steam stone stool stork storm stove strawberry stream street string studio submarine sugar suitcase
  summit sun sunflower swallow swamp swan sweater swing sword table tablet tail tailor tambourine
  tangerine tapestry teacher teapot telescope temple tent theater thimble thistle thread throne thunder
  ticket tiger timber toad toast tomato tongue torch tortoise towel tower town toy tractor trail train
  treasure tree trellis trophy trout trumpet trunk tulip tunnel turkey turnip turtle twig umbrella
  uncle unicorn valley vase vault velvet village vine violin volcano voyage wagon walnut walrus wand
  wardrobe warehouse wasp watch water waterfall wave wax weasel well whale wheat wheel whistle willow
  window windmill wing winter wizard wolf wood woodpecker wool workshop wreath yacht yak yard yarn
  zebra zephyr zipper zoo
  ability absence academy accent accident account acid action activity address adult advantage
  affair afternoon age agenda agent agreement aim air aisle alibi alloy allowance alphabet altar
  altitude ambition amount analysis ancestor animal anniversary announcement annual antenna anxiety
  appetite applause appliance appointment aptitude aquifer arbor arcade archer architect area armor
  aroma arrival art article aspect assembly asset assistant atlas atmosphere atom attempt attention
  attitude audience autumn avalanche awning background bacon baggage bait balance ball ballet ballot
  bandit banquet barber bargain barley baron base basin bass batch battle bazaar beach beetroot
  behavior belief benefit bias birch birthday blade blend blizzard block blood board body bolt bonus
  booth bottom boundary bouquet boutique brain brake brand bravery breakfast breath brochure bronze
  brush buckle buffet bulletin burrow bus business cab cabbage calculator calf campus candidate candy
  canopy capital caramel carbon career carnival carpenter cascade cashew casino catalog category
  cauliflower cavern ceiling celery cell cement center century ceremony certificate chamber chance
  change chaos character charity charm chatter checklist cheek chemistry chestnut chick child chill
  chip chord chorus cider cinnamon circuit citadel clarinet class clause clerk client clinic cloak
  closet cloth clue cluster coal cocoa code coffin coil collection college column comedy comfort
  comma committee community company competition complaint concept condition conductor cone
  conference confidence connection constant container contest context contract control convoy cook
  copy corn corral cost cotton country couple courier course courtyard cove coyote craft cranberry
  creature credit crest crop crossing crowd cruise crumb crust cube culture cupcake curiosity current
  curve custom cutlery dairy damage dance danger database date dealer debate decade decision deer
  degree delivery demand dentist department deposit depth deputy design detail detective device dew
  dial diet dimension dinner direction director discovery discussion dish distance district ditch dock
  document domain dough dragonfly drama drawing drift drink driver drizzle drone dumpling dynasty
  ear economy edge editor education effect effort elevator elk embassy emotion employee energy
  engineer entrance entry episode equation equipment error essay event evidence exam example exchange
  exhibit exit expert explorer expression eyebrow fabric face factory fairy faith falls fame family
  fashion fate fault favor feast fee feedback fever fiber fiction figure film filter finger firework
  fitness flavor flight flock floor flour flower fluid flyer focus folk food foot force forecast
  formula fortune forum foundation fraction fragment freedom freight fridge fringe frontier fuel fun
  function fund funnel future gadget gain game gap garment gas gear gene generation genius gesture
  gift glade glimpse globe glory glue goal goblet golf gondola gossip grace grade grammar grandmother
  graph gratitude gravity greeting grief grill grocery ground group growth guard guest guide guild
  gymnasium habit hail hair hall halo ham handle harmony haven hay head health hearing heart heat
  height heir hemisphere heritage hero highway hinge history hobby holiday home homework hope hormone
  host hour house humor hunger hurricane hymn idea image impact income index industry infant
  information ingredient inn input inquiry insight instance instinct instrument insurance interest
  interview invention invoice iron issue item jeans jeep jet jigsaw job joke joy junction jury kayak
  kernel kid kiln kiosk knight knowledge lab lace lady lane language laptop laughter laundry lava law
  layer leader league lecture ledge legend lens lesson level lever liberty license lid light limit
  line link liquid list literature load loaf lobby location lock locomotive logic loop lottery loyalty
  luck lullaby lumber lunch machine magazine magic maid majority manager manner manual marathon margin
  marsh mast match material matter meal meaning measure meat mechanic media medicine meeting member
  memory menu merchant message metal method metro microphone midnight mileage military milk mind
  mineral minute miracle mission mist mixture mode model moment money monitor monument mood morning
  motion mound mouth movie mud muffin muscle mustard mystery myth name nation nature neck neighbor
  nephew nerve network news niece noise noodle noon north note novel number nutmeg object occasion
  offer official oil omelet opera opinion option orbit order organ origin outcome outline output owner
  oxygen pace package pad pain pair palette pamphlet panel panic pantry paragraph parent parsley part
  partner party passage passenger password pastry patch patent patience pattern pause pavilion payment
  peace peach peak peanut pear peasant pedal penny people percent period permit person pet phase
  phone photo phrase physics piece pilgrim pillar pin pitch pizza place plain plan plant plaster
  platform player pleasure plot plug plumber poetry point policy polish pollen pool population port
  position potential pouch powder power practice prairie prayer preference premium presence present
  president pressure price pride priest principle print priority prison prize problem process product
  profession profile program progress project promise proof property proposal prose protein protest
  proverb province pudding pulse pump pupil purpose puzzle pyramid quality quantity quarter quartz
  question queue quiet quiz quota quote race rack radar radish rally ramp range rate ratio reaction
  reader reality reason receipt reception record recovery reflection region relation relief religion
  remedy report request rescue research reserve resident resort resource response rest result retreat
  review reward rhythm ridge rifle right ripple risk ritual rival robe role romance rotation route
  routine row rule rumor sack safety saga salt sample sanctuary satellite sauce sausage scale scene
  schedule scheme science score screen screw script sector security segment selection sense sentence
  series servant session setting settlement shape share shed sheet shift shirt shock shore shoulder
  show shower side sight sign silence silo simple sink site size skill skin skull slate slope smile
  smoke snack society soil solution sound source south space speaker speech speed spice spirit spot
  square staff stage stamp standard stanza statement status steak steel stem step stew stick stock
  stomach story strategy straw strength stress structure student study style subject substance suburb
  success suggestion suit summer supper supply surface surgeon surprise survey sweets symbol sympathy
  syrup system tactic talent tank tape target task taste tax tea team technology telephone television
  temper temperature tennis tension term terrace territory test text texture theme theory thing thought
  throat tide tile time tin tip title tone tool tooth topic total touch tour track trade tradition
  traffic tragedy transport tray trend trial triangle tribe trick trip truck trust truth tune turn
  tutor twin type union unit universe university user vacation valve van variety vegetable vehicle
  vendor venue verse vessel veteran victory video view villa vinegar virtue vision visit visitor voice
  volume volunteer vote wage waist walk wall wallet war warmth warning wealth weather web wedding week
  weight welcome west wheelbarrow whisker width wife wildlife wind wine wisdom witness woman wonder word
  work world worm wrist writer yogurt youth zone
`);

export const ADJECTIVES = words(`
  able absent abundant academic accurate active actual adorable adventurous afraid agile airy alert
  alive amazing ambitious ample ancient angry annual anxious apparent arctic arid aromatic artistic
  ashamed athletic atomic attractive august autumnal average awake aware awesome awkward balmy basic
  bashful beautiful beloved bitter bland blank blissful blond blue blushing bold bony boring bossy
  bouncy brave breezy brief bright brilliant brisk broad bronze brown bubbly bumpy busy calm candid
  capable careful careless caring casual cautious celestial central certain charming cheap cheerful
  chilly chosen chubby circular civic classic clean clear clever close cloudy clumsy coastal cold
  colorful comfortable common complete complex concrete confident constant content cool coral cosmic
  cosy courteous cozy crafty creamy creative crisp crooked crowded cruel crunchy cuddly cultural
  curious curly current cute damp dapper daring dark dazzling dear decent decisive deep defiant
  delicate delicious delightful dense dependable desert detailed determined devoted different digital
  diligent direct dizzy domestic dramatic dreamy dry dual dusty dutiful dynamic eager early earnest
  easy eccentric edible educated elastic elderly electric elegant elite eloquent emerald eminent
  empty enchanted endless energetic enormous entire equal essential eternal even evergreen exact
  excellent excited exotic expert extra fabulous faint fair faithful familiar famous fancy fantastic
  far fast fearless feisty fertile festive fickle fierce fine firm fit flaky flat flawless flexible
  floral fluffy fluent foggy fond foolish formal fortunate fragile fragrant frank free frequent fresh
  friendly frightened frosty frozen frugal fruity full funny furry fuzzy gallant general generous
  gentle genuine giant gifted gigantic gilded giving glad glamorous gleaming glittering global glossy
  glowing golden good gorgeous graceful gracious grand grateful grave gray great green gritty grounded
  growing grumpy handsome handy happy hardy harmless harsh hasty healthy hearty heavy helpful hidden
  high hilarious historic hollow holy honest hopeful horizontal hot huge humble humid hungry icy ideal
  idle illegal imaginary immense immortal important impressive incredible independent indigo
  industrious infinite informal innocent inner intense interesting internal intimate inventive iron
  jagged jaunty jolly jovial joyful joyous juicy jumpy junior just keen key kind kindly knowing large
  lasting late lavish lawful lazy leafy lean legal legendary level light likely limber limited liquid
  literary little lively living local lofty logical lonely long loose lost loud lovely loving low
  loyal lucky lukewarm lunar luminous lush luxurious magical magnetic majestic major mammoth marine
  marvelous massive mature meadow mean measly medical medieval mellow melodic merciful merry messy
  metallic mighty mild minor misty modern modest moist moral mossy motionless muddy musical mutual
  mysterious narrow national native natural naughty nautical near neat necessary needy nervous new
  nice nifty nimble noble noisy nomadic normal northern notable novel numb nutty obedient obvious odd
  official oily old olive open optimal optimistic orange orderly ordinary organic original ornate
  outgoing outstanding oval overjoyed pale paltry parallel passionate past patient peaceful peppery
  perfect perky personal petite plain playful pleasant plucky plump plush polar polished polite
  popular portable positive powerful practical precious precise pretty prickly primary prime pristine
  private productive profound prompt proper proud prudent public puny pure purple quaint quick quiet
  quirky radiant rapid rare rational raw ready real reasonable recent regal regular reliable remote
  rich right rigid ripe robust rocky romantic rosy rough round royal rugged rural rustic sacred sad
  safe salty sandy savory scaly scarce scenic scholarly secret secure serene serious severe shady
  shaggy shallow sharp shiny short shy silent silky silly simple sincere single skilled sleek sleepy
  slender slim slow small smart smooth snowy snug soft solar solid somber sophisticated sour southern
  spacious sparkling special speedy spicy splendid spotless spotted square stable stark steady steep
  sticky still stout straight strange striped strong stunning sturdy stylish subtle sudden sugary
  sunny super superb supreme sure swift sympathetic tall tame tangible tart tasty tender terrific
  thankful thick thin thirsty thorough thoughtful thrifty tidy tiny tired tough tranquil tropical
  true trusty twinkling ultimate unique united upbeat upright urban useful usual vague valid valuable
  vast velvet verdant vibrant vigilant vintage violet virtual visible vital vivid warm wary watchful
  wavy wealthy weary whimsical whole wicked wide wild willing windy wintry wise witty wonderful wooden
  woolly worthy young youthful zany zealous zesty
`);

export const VERBS = words(`
  accept achieve acquire adapt add adjust admire admit adopt advise agree allow amuse analyze announce
  answer apologize appear applaud apply appreciate approve argue arrange arrive ask assemble assist
  attach attend attract avoid bake balance bathe battle beg begin behave believe belong bend bind
  blink bloom blossom boast boil borrow bounce bow breathe bring brush build bump burn bury buzz
  calculate call camp carry carve catch celebrate change charge chase chat check cheer chew choose
  chop clap classify clean climb close coach collect comb combine command compare compete complain
  complete compose concentrate confess confirm connect consider construct contain continue copy
  correct cough count cover crack crawl create cross crush cry cultivate cure cycle dance dare decide
  decorate defend delay deliver depend describe deserve design destroy detect develop dig direct
  discover dive divide doubt drag drain draw dream dress drift drill drink drive drop drum dry dust
  earn educate embrace employ empty encourage end enjoy enter entertain escape establish estimate
  examine excite excuse exercise exist expand expect explain explode explore express extend fade fail
  fasten fear feed fetch fill film find finish fit fix flap flash float flood flow flower fly fold
  follow forgive form found frame frighten fry gather gaze glide glow grab grasp greet grin grip groan
  grow guard guess guide hammer hand handle hang happen harvest hate heal hear heat help hike hop hope
  hover hug hum hunt hurry identify ignore imagine impress improve include increase influence inform
  inspect inspire install instruct intend interrupt introduce invent invite iron itch jog join joke
  judge juggle jump justify keep kick kneel knit knock label land last laugh launch lead lean learn
  leave lend lift like limp list listen live load locate lock look love manage march mark marry match
  matter measure meet melt memorize mend mention milk mix moan mold move mumble murmur nail name need
  negotiate nod note notice obey observe obtain occur offer open operate order organize overflow owe
  own pack paddle paint park pass paste pat pause peck pedal peel perform permit pick pinch place plan
  plant play please plow plug point polish pop possess post pour practice pray preach predict prefer
  prepare present preserve press pretend prevent print produce program promise protect provide pull
  pump punch punish purchase push question race radiate rain raise reach read realize receive
  recognize record recover reduce reflect refuse regret reign reject rejoice relax release rely remain
  remember remind remove repair repeat replace reply report request rescue resist respond rest retire
  return reveal rhyme ride ring rinse rise roam roar roast rock roll rub rule rush sail satisfy save
  saw say scatter scold scrape scratch scream search season select sell send serve settle sew shake
  shape share shave shelter shine shiver shock shop shout shrug sigh sign signal sing sip sketch ski
  skip slide slip smash smell smile snap sneeze sniff snore soak solve sort sow spark speak spell spill
  spin splash spoil spray spread sprint squeeze stack stamp stand stare start stay steer step stir
  stitch stop store stretch stroll study stuff succeed suggest supply support suppose surprise
  surround survive suspect swim swing talk tame tap taste teach tease telephone tempt test thank thaw
  think thrive tickle tie tighten time tip tour tow trace trade train transform translate travel treat
  tremble trick trim trot trust try tug tumble turn twist type understand undress unfold unite unlock
  unpack untie use vanish visit wade wait wake walk wander want warm warn wash watch water wave weave
  weigh welcome whisper whistle wink wipe wish wonder work worry wrap wreck wrestle write yawn yell
  yield zoom
`);

/** Every word once, in a fixed order: the pool common words extraction draws from (RULER: nouns + adjectives + verbs). */
export const ALL_WORDS: readonly string[] = [...new Set([...NOUNS, ...ADJECTIVES, ...VERBS])].sort();
